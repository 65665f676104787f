// Runs large_page.html in headless Chromium: Paho JS or MQTT.js (its browser bundle)
// publishes a large QoS 1 message through a broker and receives it back.
// Usage: node browser_large.js LIBRARY(paho|mqttjs) WS_HOST WS_PORT SIZE [CHROMIUM_PATH]
// The page and the library are served from a local HTTP server on a free loopback port.
'use strict'

const fs = require('fs')
const http = require('http')
const os = require('os')
const path = require('path')
const { chromium } = require('playwright-core')
const { run } = require('./harness')

const LIBRARIES = {
  paho: ['/paho-mqtt.js', require.resolve('paho-mqtt/paho-mqtt.js')],
  mqttjs: ['/mqtt.min.js', path.join(path.dirname(require.resolve('mqtt/package.json')), 'dist', 'mqtt.min.js')]
}

function serve (library) {
  const [route, file] = LIBRARIES[library]
  const files = {
    '/': [path.join(__dirname, 'large_page.html'), 'text/html; charset=utf-8'],
    [route]: [file, 'text/javascript; charset=utf-8']
  }
  const server = http.createServer((req, res) => {
    const entry = files[req.url]
    if (!entry) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'Content-Type': entry[1] })
    fs.createReadStream(entry[0]).pipe(res)
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

run(async ([library, host, port, size, executable]) => {
  if (!LIBRARIES[library]) throw new Error(`unknown library ${library}`)
  const server = await serve(library)
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'large-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: executable || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync'
    ]
  })
  try {
    const page = context.pages()[0] || (await context.newPage())
    const consoleLines = []
    page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`))
    page.on('pageerror', (error) => consoleLines.push(`pageerror: ${error}`))
    await page.goto(`http://127.0.0.1:${server.address().port}/`)
    await page.addScriptTag({ url: LIBRARIES[library][0] })
    const result = await page.evaluate(
      ([l, h, p, s]) => window.runLarge(l, h, p, s),
      [library, host, Number(port), Number(size)]
    )
    if (result.error) throw new Error(`${result.error}\n${consoleLines.join('\n')}`)
    return result
  } finally {
    await context.close()
    server.close()
    fs.rmSync(profile, { recursive: true, force: true })
  }
})
