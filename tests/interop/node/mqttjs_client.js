// MQTT.js (npm "mqtt") scenarios against a broker over WebSocket.
// Usage: node mqttjs_client.js SCENARIO WS_URL PROTOCOL_VERSION(4|5)
// Prints the observations as {"result": ...} (see harness.js); the Python test asserts on them.
'use strict'

const crypto = require('crypto')
const mqtt = require('mqtt')
const { Inbox, checkpoint, run, within } = require('./harness')

let url = ''
let version = 4
const open = []

// Connect and resolve with [client, connack]; every client collects its messages in client.inbox.
function connect (clientId, options = {}) {
  const client = mqtt.connect(url, {
    clientId,
    protocolVersion: version,
    reconnectPeriod: 0,
    connectTimeout: 10000,
    ...options
  })
  open.push(client)
  client.inbox = new Inbox()
  client.subacks = []
  client.on('message', (topic, payload, packet) => client.inbox.push({
    topic,
    payload: payload.toString('latin1'),
    qos: packet.qos,
    retain: packet.retain,
    properties: packet.properties || {}
  }))
  client.on('packetreceive', (packet) => {
    if (packet.cmd === 'suback') client.subacks.push(packet.granted)
  })
  return within(10000, `CONNACK for ${clientId}`, new Promise((resolve, reject) => {
    client.once('connect', (connack) => resolve([client, connack]))
    client.once('error', reject)
  }))
}

function subscribe (client, filters, options = {}) {
  return new Promise((resolve) => {
    // The callback's error is a SUBACK failure code; the codes themselves are read from the packet.
    client.subscribe(filters, options, () => resolve(client.subacks[client.subacks.length - 1]))
  })
}

function publish (client, topic, payload, options = {}) {
  return within(10000, `acknowledgement of ${topic}`, client.publishAsync(topic, payload, options))
}

function end (client, force = false) {
  return new Promise((resolve) => client.end(force, {}, () => resolve()))
}

function brief (message) {
  return { topic: message.topic, payload: message.payload, qos: message.qos, retain: message.retain }
}

const scenarios = {
  // QoS 0/1/2 through "+" and "#"; non-matching topics stay away (a marker closes the window).
  async wildcards () {
    const [plus] = await connect('js-plus')
    const [hash] = await connect('js-hash')
    const [pub] = await connect('js-pub')
    const grants = [
      await subscribe(plus, { 'js/+/temp': { qos: 2 } }),
      await subscribe(hash, { 'js/#': { qos: 1 } })
    ]
    for (const qos of [0, 1, 2]) await publish(pub, 'js/kitchen/temp', `q${qos}`, { qos })
    await publish(pub, 'js/kitchen/humidity', 'h', { qos: 1 })
    await publish(pub, 'js/a/b/temp', 'deep', { qos: 1 })
    await publish(pub, 'jsx/kitchen/temp', 'other', { qos: 1 })
    await publish(pub, 'js/end/temp', 'end', { qos: 1 })
    const plusGot = await plus.inbox.atLeast(4, 'messages on js/+/temp')
    const hashGot = await hash.inbox.atLeast(6, 'messages on js/#')
    return { grants, plus: plusGot.map(brief), hash: hashGot.map(brief) }
  },

  // A retained message reaches a late subscriber with the retain flag; an empty retained publish clears it.
  async retained () {
    const [pub] = await connect('js-pub')
    await publish(pub, 'js/status/door', 'open', { qos: 1, retain: true })
    const [first] = await connect('js-first')
    await subscribe(first, { 'js/status/#': { qos: 1 } })
    const stored = await first.inbox.atLeast(1, 'the retained message')
    await publish(first, 'js/status/live', 'live', { qos: 1 })
    const live = await first.inbox.atLeast(2, 'the live message')
    await publish(pub, 'js/status/door', '', { qos: 1, retain: true })
    const [second] = await connect('js-second')
    await subscribe(second, { 'js/status/#': { qos: 1 } })
    await publish(second, 'js/status/marker', 'm', { qos: 1 })
    const afterClear = await second.inbox.atLeast(1, 'the marker')
    return { stored: brief(stored[0]), live: brief(live[1]), afterClear: afterClear.map(brief) }
  },

  // A will is published when the connection drops, not after a DISCONNECT.
  async will () {
    const [watcher] = await connect('js-watcher')
    await subscribe(watcher, { 'js/will/#': { qos: 1 } })
    const will = { topic: 'js/will/dropped', payload: Buffer.from('gone'), qos: 1, retain: false }
    if (version === 5) will.properties = { userProperties: { why: 'dropped' } }
    const [dropped] = await connect('js-dropped', { will })
    const [polite] = await connect('js-polite', { will: { ...will, topic: 'js/will/polite' } })
    await end(polite)
    dropped.stream.destroy() // no DISCONNECT: the broker must publish the will
    const got = await watcher.inbox.atLeast(1, 'the will')
    await publish(watcher, 'js/will/marker', 'm', { qos: 1 })
    const all = await watcher.inbox.atLeast(2, 'the marker')
    return { will: { ...brief(got[0]), user: got[0].properties.userProperties || null }, all: all.map(brief) }
  },

  // After UNSUBSCRIBE nothing more arrives on that filter.
  async unsubscribe () {
    const [sub] = await connect('js-sub')
    const [pub] = await connect('js-pub')
    await subscribe(sub, { 'js/u/a': { qos: 1 }, 'js/u/b': { qos: 1 } })
    await publish(pub, 'js/u/a', 'before', { qos: 1 })
    await sub.inbox.atLeast(1, 'the message before unsubscribing')
    const unsuback = await within(10000, 'UNSUBACK', sub.unsubscribeAsync('js/u/a'))
    await publish(pub, 'js/u/a', 'after', { qos: 1 })
    await publish(pub, 'js/u/b', 'marker', { qos: 1 })
    const got = await sub.inbox.atLeast(2, 'the marker')
    return { got: got.map(brief), unsubackReasons: (unsuback && unsuback.reasonCode) ?? null }
  },

  // A persistent session keeps its subscription and queues QoS 1 messages while offline.
  async persistent () {
    const options = { clean: false }
    if (version === 5) options.properties = { sessionExpiryInterval: 300 }
    const [keeper, first] = await connect('js-keeper', options)
    await subscribe(keeper, { 'js/q/#': { qos: 1 } })
    await end(keeper)
    const [pub] = await connect('js-pub')
    for (const n of [1, 2, 3]) await publish(pub, `js/q/${n}`, `m${n}`, { qos: 1 })
    await publish(pub, 'js/q/zero', 'qos0', { qos: 0 })
    const [back, connack] = await connect('js-keeper', options)
    const got = await back.inbox.atLeast(3, 'queued messages')
    return { firstPresent: first.sessionPresent, present: connack.sessionPresent, got: got.map(brief) }
  },

  // A SUBSCRIBE to a filter the ACL does not let this client read gets a failure code.
  async acl () {
    const [client] = await connect('js-acl')
    const codes = await subscribe(client, { 'secret/#': { qos: 1 }, 'open/#': { qos: 1 } })
    await publish(client, 'open/x', 'ok', { qos: 1 })
    const got = await client.inbox.atLeast(1, 'a message on open/#')
    return { codes, got: got.map(brief) }
  },

  // 1 MiB payload, QoS 1, both ways through the broker intact.
  async large () {
    const payload = crypto.randomBytes(1024 * 1024)
    const [sub] = await connect('js-big-sub')
    const [pub] = await connect('js-big-pub')
    await subscribe(sub, { 'js/big': { qos: 1 } })
    const received = new Promise((resolve) => sub.once('message', (topic, data) => resolve(data)))
    await publish(pub, 'js/big', payload, { qos: 1 })
    const data = await within(20000, 'the 1 MiB message', received)
    const digest = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex')
    return { sent: digest(payload), received: digest(data), length: data.length }
  },

  // MQTT 5: user properties and the other publish properties arrive as sent.
  async properties () {
    const [sub] = await connect('js-sub')
    const [pub] = await connect('js-pub')
    await subscribe(sub, { 'js/p': { qos: 1 } })
    await publish(pub, 'js/p', '{"t":21.5}', {
      qos: 1,
      properties: {
        userProperties: { site: 'lab', rack: '7' },
        contentType: 'application/json',
        payloadFormatIndicator: true,
        responseTopic: 'js/reply',
        correlationData: Buffer.from('c0ffee', 'hex'),
        messageExpiryInterval: 120
      }
    })
    const [got] = await sub.inbox.atLeast(1, 'the message with properties')
    const p = got.properties
    return {
      userProperties: p.userProperties,
      contentType: p.contentType,
      payloadFormatIndicator: p.payloadFormatIndicator,
      responseTopic: p.responseTopic,
      correlationData: p.correlationData ? Buffer.from(p.correlationData).toString('hex') : null,
      messageExpiryInterval: p.messageExpiryInterval
    }
  },

  // MQTT 5: a queued message whose expiry passes while its subscriber is offline is dropped;
  // the test advances the broker's clock by 30 s at the checkpoint.
  async expiry () {
    const options = { clean: false, properties: { sessionExpiryInterval: 600 } }
    const [keeper] = await connect('js-exp', options)
    await subscribe(keeper, { 'js/exp/#': { qos: 1 } })
    await end(keeper)
    const [pub] = await connect('js-pub')
    await publish(pub, 'js/exp/short', 'short', { qos: 1, properties: { messageExpiryInterval: 10 } })
    await publish(pub, 'js/exp/long', 'long', { qos: 1, properties: { messageExpiryInterval: 100 } })
    await publish(pub, 'js/exp/retained', 'r', { qos: 1, retain: true, properties: { messageExpiryInterval: 10 } })
    await checkpoint('queued')
    const [back, connack] = await connect('js-exp', options)
    await publish(back, 'js/exp/marker', 'm', { qos: 1 })
    const got = await back.inbox.atLeast(2, 'the surviving message and the marker')
    const [late] = await connect('js-late')
    await subscribe(late, { 'js/exp/#': { qos: 1 } })
    await publish(late, 'js/exp/marker2', 'm', { qos: 1 })
    const lateGot = await late.inbox.atLeast(1, 'the marker')
    return {
      present: connack.sessionPresent,
      got: got.map((m) => ({ ...brief(m), expiry: m.properties.messageExpiryInterval ?? null })),
      late: lateGot.map(brief)
    }
  },

  // MQTT 5: inbound topic alias; the second PUBLISH carries only the alias.
  async alias () {
    const [sub] = await connect('js-sub')
    const [pub, connack] = await connect('js-pub')
    await subscribe(sub, { 'js/alias/#': { qos: 1 } })
    await publish(pub, 'js/alias/a/rather/long/topic/name', 'first', { qos: 1, properties: { topicAlias: 1 } })
    await publish(pub, '', 'second', { qos: 1, properties: { topicAlias: 1 } })
    await publish(pub, 'js/alias/other', 'third', { qos: 0, properties: { topicAlias: 1 } })
    await publish(pub, '', 'fourth', { qos: 1, properties: { topicAlias: 1 } })
    const got = await sub.inbox.atLeast(4, 'the aliased messages')
    return { topicAliasMaximum: connack.properties ? connack.properties.topicAliasMaximum : null, got: got.map(brief) }
  }
}

run(async ([scenario, wsUrl, protocolVersion]) => {
  url = wsUrl
  version = Number(protocolVersion)
  const body = scenarios[scenario]
  if (!body) throw new Error(`unknown scenario ${scenario}`)
  try {
    return await body()
  } finally {
    await Promise.all(open.map((client) => end(client, true)))
  }
})
