// The hubot script of the README's worked example: someone says "<bot> ping", the bot answers PONG.
module.exports = (robot) => {
  robot.respond(/ping$/i, (res) => {
    res.send('PONG')
  })
}
