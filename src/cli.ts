#!/usr/bin/env node
// The `wharf` command (package bin): see src/cli/main.ts, and `wharf help`.
import { main } from './cli/main.js'

process.exitCode = await main(process.argv.slice(2), { out: process.stdout, err: process.stderr })
