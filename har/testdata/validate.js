// validate.js checks HAR files against the HAR 1.2 JSON schema with the npm
// package har-validator (5.1.5), for the tests of package har.
//
// Usage: node validate.js FILE...
//
// It finds har-validator in node_modules beside it or through NODE_PATH.
// Exit status: 0 all valid, 1 some file invalid, 2 bad usage or unreadable
// file, 3 har-validator is not installed.
'use strict'

const fs = require('fs')

let validator
try {
  validator = require('har-validator')
} catch (e) {
  console.error('har-validator is not installed (' + e.code + ')')
  process.exit(3)
}

async function main (files) {
  if (files.length === 0) {
    console.error('usage: node validate.js FILE...')
    return 2
  }
  let status = 0
  for (const f of files) {
    let data
    try {
      data = JSON.parse(fs.readFileSync(f, 'utf8'))
    } catch (e) {
      console.error(f + ': ' + e.message)
      return 2
    }
    try {
      await validator.har(data)
    } catch (e) {
      console.error(f + ': invalid HAR: ' + JSON.stringify(e.errors || e.message))
      status = 1
    }
  }
  return status
}

main(process.argv.slice(2)).then(code => process.exit(code))
