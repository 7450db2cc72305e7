// The README's bot-testing walkthrough: "@bot deploy X" is answered in the message's thread with a
// #deploy tag; an emoji reaction added to a message is counted as a vote and announced in the flow.
module.exports = (robot) => {
  robot.respond(/deploy (\S+)$/i, (res) => {
    res.send(`deploying ${res.match[1]} #deploy`)
  })

  // hubot-flowdock hands scripts messages and comments only; stream-only events such as
  // emoji-reaction are read from the adapter's stream, opened (and reopened) by its connect().
  const votes = {}
  const connect = robot.adapter.connect
  robot.adapter.connect = function (...args) {
    const result = connect.apply(this, args)
    this.stream.on('message', (event) => {
      if (event.event !== 'emoji-reaction' || event.content.type !== 'add') return
      const message = event.content.message
      votes[message] = (votes[message] || 0) + 1
      robot.messageRoom(event.flow, `vote :${event.content.emoji}: on ${message}: ${votes[message]}`)
    })
    return result
  }
}
