// A resilient node-flowdock listener, as a bot should be: it streams one flow with Session#stream
// (which reconnects by itself: at once after a clean end, after 2, 4, 8 s after a refusal) and,
// after every reconnect, catches up over REST with the messages posted since the last one it saw
// (a JSON stream has no event ids to replay). One JSON line on stdout per thing that happens.
// Usage: FLOWDOCK_TOKEN=... node resilient_listen.js <organization> <flow> <flow id>
const flowdock = require('flowdock')

const [org, flowName, flowId] = process.argv.slice(2)
const session = new flowdock.Session(process.env.FLOWDOCK_TOKEN)
const say = (what) => process.stdout.write(JSON.stringify(what) + '\n')
const seen = new Set()
let lastId = null
let connections = 0

function received (message, via) {
  if (message.event !== 'message') return
  const duplicate = seen.has(message.id)
  seen.add(message.id)
  if (lastId === null || message.id > lastId) lastId = message.id
  say({ id: message.id, content: message.content, via, duplicate })
}

const stream = session.stream([flowId])
stream.on('connected', () => {
  connections += 1
  say({ connected: connections })
  if (connections === 1 || lastId === null) return
  const query = { since_id: lastId, event: 'message', sort: 'asc', limit: 100 }
  session.get(`/flows/${org}/${flowName}/messages`, query, (error, messages) => {
    if (error) return say({ catchupError: String(error) })
    for (const message of messages) {
      if (!seen.has(message.id)) received(message, 'catchup')
    }
    say({ caughtUp: connections })
  })
})
stream.on('message', (message) => received(message, 'stream'))
stream.on('clientError', (status) => say({ clientError: status }))
stream.on('disconnected', () => say({ disconnected: true }))
process.stdin.on('end', () => { stream.end(); process.exit(0) }) // the test closes stdin to stop us
process.stdin.resume()
