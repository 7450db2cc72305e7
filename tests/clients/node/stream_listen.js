// node-flowdock's Session#stream, pointed at the mock only by FLOWDOCK_STREAM_URL (and
// FLOWDOCK_API_URL): one JSON line on stdout per thing that happens, for the Python test to read.
// Usage: FLOWDOCK_TOKEN=... node stream_listen.js <flow id> [<flow id> ...]
const flowdock = require('flowdock')

const session = new flowdock.Session(process.env.FLOWDOCK_TOKEN)
const stream = session.stream(process.argv.slice(2), { user: 1 })
const say = (what) => process.stdout.write(JSON.stringify(what) + '\n')

stream.on('connected', () => say({ connected: true }))
stream.on('message', (message) => say({ message }))
stream.on('clientError', (status, text) => say({ clientError: status, text: text || null }))
stream.on('disconnected', () => say({ disconnected: true }))
process.stdin.on('end', () => { stream.end(); process.exit(0) }) // the test closes stdin to stop us
process.stdin.resume()
