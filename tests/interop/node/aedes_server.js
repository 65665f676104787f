// Serves the aedes MQTT broker over WebSocket for the interoperability tests.
// Usage: node aedes_server.js PORT [PATH]   (PORT 0 picks a free port)
// Prints the bound port as its first stdout line, then runs until killed or stdin closes.
'use strict'

const http = require('http')
const { WebSocketServer, createWebSocketStream } = require('ws')
const aedes = require('aedes')()

const port = Number(process.argv[2] || 0)
const path = process.argv[3] || '/mqtt'

const server = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' })
  res.end('not a WebSocket endpoint\n')
})

// Echo "mqtt" when offered, as MQTT 5.0 section 6.0 asks.
const wss = new WebSocketServer({
  server,
  path,
  handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false)
})

wss.on('connection', (socket) => {
  const stream = createWebSocketStream(socket)
  stream.on('error', () => stream.destroy())
  aedes.handle(stream)
})

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`)
})

// Exit with the parent: the tests close stdin to stop the broker.
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
