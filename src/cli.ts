#!/usr/bin/env node
// The `wharf` command (package bin): see src/cli/main.ts, and `wharf help`.
import { main } from './cli/main.js'

// A reader that went away (`wharf jobs … | head`) is not an error of the command: what it does
// still finishes (a store opened is closed), its output goes nowhere.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error
  })
}

process.exitCode = await main(process.argv.slice(2), { out: process.stdout, err: process.stderr })
