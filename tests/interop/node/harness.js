// Shared plumbing for the interop scripts that the Python tests run.
//
// Protocol with the test (one JSON object per stdout line):
//   {"checkpoint": NAME}  the script waits for one line on stdin before going on, so the
//                         test can act on the broker (advance its clock, inspect state);
//   {"result": VALUE}     the observations the test asserts on; the script then exits 0;
//   {"error": MESSAGE}    something failed; the script exits 1.
'use strict'

const readline = require('readline')

const lines = readline.createInterface({ input: process.stdin })
const waiting = []
lines.on('line', () => {
  const next = waiting.shift()
  if (next) next()
})

function emit (object) {
  process.stdout.write(JSON.stringify(object) + '\n')
}

// Tell the test we reached NAME and wait until it answers.
function checkpoint (name) {
  return new Promise((resolve) => {
    waiting.push(resolve)
    emit({ checkpoint: name })
  })
}

// Reject after MS milliseconds so that a missing message fails with a name, not a hang.
function within (ms, what, promise) {
  let timer
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

// A list that can be awaited until it holds COUNT items.
class Inbox {
  constructor () {
    this.items = []
    this.wakers = []
  }

  push (item) {
    this.items.push(item)
    for (const wake of this.wakers.splice(0)) wake()
  }

  async atLeast (count, what, ms = 10000) {
    const ready = async () => {
      while (this.items.length < count) {
        await new Promise((resolve) => this.wakers.push(resolve))
      }
      return this.items.slice()
    }
    return within(ms, `${count} ${what} (have ${this.items.length})`, ready())
  }
}

// Run MAIN(args) and report its value, or the error, in the protocol above.
function run (main) {
  main(process.argv.slice(2)).then(
    (value) => {
      emit({ result: value })
      process.exit(0)
    },
    (error) => {
      emit({ error: String(error && error.stack ? error.stack : error) })
      process.exit(1)
    }
  )
}

module.exports = { Inbox, checkpoint, emit, run, within }
