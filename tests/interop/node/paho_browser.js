// Runs paho_page.html (the Eclipse Paho JavaScript client) in headless Chromium against a broker.
// Usage: node paho_browser.js WS_HOST WS_PORT MQTT_VERSION(3|4) [CHROMIUM_PATH]
// Serves the page and paho-mqtt.js from a local HTTP server on a free port, opens it in a
// fresh Chromium profile through playwright-core and prints the page's observations.
'use strict'

const fs = require('fs')
const http = require('http')
const os = require('os')
const path = require('path')
const { chromium } = require('playwright-core')
const { run } = require('./harness')

const FILES = {
  '/': [path.join(__dirname, 'paho_page.html'), 'text/html; charset=utf-8'],
  '/paho-mqtt.js': [require.resolve('paho-mqtt/paho-mqtt.js'), 'text/javascript; charset=utf-8']
}

function serve () {
  const server = http.createServer((req, res) => {
    const entry = FILES[req.url]
    if (!entry) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'Content-Type': entry[1] })
    fs.createReadStream(entry[0]).pipe(res)
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

run(async ([host, port, version, executable]) => {
  const server = await serve()
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'paho-chromium-'))
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
    const result = await page.evaluate(
      ([h, p, v]) => window.runScenario(h, p, v),
      [host, Number(port), Number(version)]
    )
    if (result.error) throw new Error(`${result.error}\n${consoleLines.join('\n')}`)
    return result
  } finally {
    await context.close()
    server.close()
    fs.rmSync(profile, { recursive: true, force: true })
  }
})
