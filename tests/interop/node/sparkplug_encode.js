// Encode Sparkplug B payloads with Eclipse Tahu's JavaScript encoder (npm sparkplug-payload).
//
// stdin: a JSON array of payload objects as sparkplug-payload takes them
//        ({timestamp, seq, metrics: [{name, alias, type, value}]});
// stdout: one JSON array of the encoded payloads, base64.
'use strict'

const sparkplug = require('sparkplug-payload').get('spBv1.0')

let input = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (chunk) => { input += chunk })
process.stdin.on('end', () => {
  const payloads = JSON.parse(input)
  const out = payloads.map((payload) => Buffer.from(sparkplug.encodePayload(payload)).toString('base64'))
  process.stdout.write(JSON.stringify(out) + '\n')
})
