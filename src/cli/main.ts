// The `wharf` command: picks the command, parses its options, runs it, and turns what it throws
// into the exit code — 0 success, 1 a refused action or a problem found, 2 bad usage (with the
// command's usage line on stderr).

import { COMMON_OPTIONS, parse, UsageError } from './args.js'
import { errorInfo, Refusal, type ErrorInfo } from './client.js'
import { EXIT_OK, EXIT_REFUSED, EXIT_USAGE, type Command } from './command.js'
import { COMMANDS } from './commands.js'
import { Output, type Sink } from './output.js'
import { packageVersion } from './version.js'
import { WharfError } from '../engine/errors.js'

export interface Io {
  out: Sink
  err: Sink
}

const USAGE = 'usage: wharf <command> [options]   (wharf help: the commands)'

/** Run the CLI on `args` (without node and the script); resolves with the exit code. */
export async function main(args: readonly string[], io: Io): Promise<number> {
  const [first, ...rest] = args
  if (first === undefined) {
    io.err.write(generalHelp().join('\n') + '\n')
    return EXIT_USAGE
  }
  if (first === '--version' || first === '-V') {
    io.out.write(`${await packageVersion()}\n`)
    return EXIT_OK
  }
  if (first === 'help' || first === '--help' || first === '-h') return help(rest, io)
  const command = COMMANDS.get(first)
  if (command === undefined) {
    io.err.write(`wharf: unknown command ${JSON.stringify(first)}\n${USAGE}\n`)
    return EXIT_USAGE
  }
  return runCommand(command, rest, io)
}

function help(rest: readonly string[], io: Io): number {
  if (rest.length === 0) {
    io.out.write(generalHelp().join('\n') + '\n')
    return EXIT_OK
  }
  const command = COMMANDS.get(rest[0]!)
  if (command === undefined || rest.length > 1) {
    io.err.write(`wharf help: ${command === undefined ? `unknown command ${JSON.stringify(rest[0])}` : 'one command at a time'}\n${USAGE}\n`)
    return EXIT_USAGE
  }
  io.out.write(commandHelp(command).join('\n') + '\n')
  return EXIT_OK
}

async function runCommand(command: Command, args: readonly string[], io: Io): Promise<number> {
  const usage = (message: string): number => {
    io.err.write(`wharf ${command.name}: ${message}\nusage: ${command.usage}\n`)
    return EXIT_USAGE
  }
  let out: Output | null = null
  try {
    const { values, positionals } = parse(args, { ...COMMON_OPTIONS, ...command.options })
    if (values.help === true) {
      io.out.write(commandHelp(command).join('\n') + '\n')
      return EXIT_OK
    }
    out = new Output(values.json === true, io.out, io.err)
    return await command.run({ values, positionals, out })
  } catch (error) {
    if (error instanceof UsageError) return usage(error.message)
    const refusal = asRefusal(error)
    if (refusal === null) throw error
    if (refusal.usage) return usage(`${refusal.info.name}: ${refusal.info.message}`)
    io.err.write(`wharf ${command.name}: ${refusal.info.name}: ${refusal.info.message}\n`)
    // --json promises one document on stdout: a refusal is one too.
    out?.answer({ error: refusal.info satisfies ErrorInfo }, () => [])
    return EXIT_REFUSED
  }
}

/** A Refusal, or a Wharf error as one (bad input: usage); null for anything else (a bug). */
function asRefusal(error: unknown): Refusal | null {
  if (error instanceof Refusal) return error
  if (!(error instanceof WharfError)) return null
  const badInput = error.code === 'INVALID_PROPERTY' || error.code === 'INVALID_CHANNEL_CONFIG'
  return new Refusal(errorInfo(error), badInput)
}

function generalHelp(): string[] {
  const width = Math.max(...[...COMMANDS.keys()].map((n) => n.length))
  return [
    USAGE.replace(/ {3}\(.*$/, ''),
    '',
    'commands:',
    ...[...COMMANDS.values()].map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'wharf help <command> (or wharf <command> --help): its options. wharf --version: the version.',
    '--json prints one JSON document instead of tables.',
    'Exit codes: 0 success, 1 a refused action or a problem found, 2 bad usage.',
  ]
}

function commandHelp(command: Command): string[] {
  return [`usage: ${command.usage}`, '', command.summary + '.', '', ...command.details.map((d) => `  ${d}`)]
}
