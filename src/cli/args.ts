// The command line's words, checked once here: node:util's parseArgs for the syntax, then each
// value that has a meaning (a state, a limit, a URL) checked before any store is opened or any
// request is sent. Every refusal is a UsageError, which the CLI turns into exit code 2 with the
// command's usage line.

import { parseArgs, type ParseArgsConfig } from 'node:util'
import { JOB_STATES, type JobState } from '../engine/core/events.js'
import { JOBS_LIMIT_MAX } from '../engine/api/queries.js'
import { API_JOBS_LIMIT_MAX, isUuidParam } from '../dashboard/query.js'
import { isTokenText } from '../dashboard/options.js'
import { connectionUrlProblem, redactedUrl } from '../storage/pg-url.js'

/** Bad usage: an unknown command or flag, a missing argument, a bad value. Exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>
export type Values = Record<string, string | boolean | undefined>

/** Options every command takes. */
export const COMMON_OPTIONS: OptionSpecs = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
}

/** Options of the commands that talk to a store (--path), to a running app (--url) or to a
 * cluster on PostgreSQL (--postgres, --schema). */
export const CONNECT_OPTIONS: OptionSpecs = {
  path: { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
  postgres: { type: 'string' },
  schema: { type: 'string' },
}

/** The cluster options, for commands that take them only to refuse them by name. */
export const POSTGRES_OPTIONS: OptionSpecs = { postgres: { type: 'string' }, schema: { type: 'string' } }

/** A PostgreSQL connection URL (checked as Wharf.open checks it; the schema is checked there). */
export function postgresOption(values: Values): string | undefined {
  const url = stringOption(values, 'postgres')
  const problem = url === undefined ? null : connectionUrlProblem(url)
  if (url !== undefined && problem !== null) {
    throw new UsageError(`--postgres must be a connection URL such as postgres://user@127.0.0.1:5432/app, got ${JSON.stringify(redactedUrl(url))}: ${problem}`)
  }
  if (url === undefined && values.schema !== undefined) throw new UsageError('--schema goes with --postgres (it names the schema of the cluster\'s tables)')
  return url
}

/** Refuse --postgres and --schema for a command with no meaning on a cluster, saying `why`. */
export function refusePostgres(values: Values, why: string): void {
  const given = values.postgres !== undefined ? 'postgres' : values.schema !== undefined ? 'schema' : null
  if (given !== null) throw new UsageError(`--${given}: ${why}`)
}

export interface Parsed {
  values: Values
  positionals: string[]
}

/** Parse `args` against `options`; parseArgs' own refusals become UsageErrors. */
export function parse(args: readonly string[], options: OptionSpecs): Parsed {
  try {
    const { values, positionals, tokens } = parseArgs({ args: [...args], options, allowPositionals: true, strict: true, tokens: true })
    // parseArgs keeps the last value of a repeated option: a filter, a state to purge or a store
    // given twice would be dropped without a word.
    const seen = new Set<string>()
    for (const token of tokens) {
      if (token.kind !== 'option' || token.value === undefined) continue
      if (seen.has(token.name)) throw new UsageError(`--${token.name} is given more than once; it takes one value (run the command once per value)`)
      seen.add(token.name)
    }
    return { values: values as Values, positionals }
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) throw new UsageError((error as Error).message)
    throw error
  }
}

export function stringOption(values: Values, name: string): string | undefined {
  const value = values[name]
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.length === 0) throw new UsageError(`--${name} needs a value`)
  return value
}

export function stateOption(values: Values): JobState | undefined {
  const state = stringOption(values, 'state')
  if (state !== undefined && !(JOB_STATES as readonly string[]).includes(state)) {
    throw new UsageError(`--state ${JSON.stringify(state)} is not a job state; states: ${JOB_STATES.join(', ')}`)
  }
  return state as JobState | undefined
}

/** An integer option within [min, max]; `fallback` when absent. */
export function integerOption(values: Values, name: string, min: number, max: number, fallback: number): number {
  const text = stringOption(values, name)
  if (text === undefined) return fallback
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`)
  }
  return Number(text)
}

/** Rows per page of `wharf jobs` unless --limit says otherwise (the dashboard API's default). */
export const LIMIT_DEFAULT = 50

/** --limit in a command's help: the dashboard's API has a lower bound than a store (--path). */
export const LIMIT_DETAIL = `--limit N     rows per page, 1 to ${JOBS_LIMIT_MAX} (default ${LIMIT_DEFAULT}; 1 to ${API_JOBS_LIMIT_MAX} with --url)`

export function limitOption(values: Values): number {
  return integerOption(values, 'limit', 1, JOBS_LIMIT_MAX, LIMIT_DEFAULT)
}

export function orderOption(values: Values): 'asc' | 'desc' | undefined {
  const order = stringOption(values, 'order')
  if (order !== undefined && order !== 'asc' && order !== 'desc') throw new UsageError(`--order must be asc or desc, got ${JSON.stringify(order)}`)
  return order
}

/**
 * A page's cursor: the uuid a previous page named as next. Checked as the dashboard API checks
 * it, in every mode: --url refused 'a b' (HTTP 400) while --path paged from it as a plain bound.
 */
export function afterOption(values: Values): string | undefined {
  const after = stringOption(values, 'after')
  if (after !== undefined && !isUuidParam(after)) {
    throw new UsageError(`--after must be a uuid (the one a previous page named as next: no spaces, at most 200 characters), got ${JSON.stringify(after)}`)
  }
  return after
}

/**
 * A job function 'model.method'. Model names may hold dots ('res.partner'), method names may not:
 * the method is what follows the last dot.
 */
export function functionOption(values: Values): { model: string; method: string } | undefined {
  const name = stringOption(values, 'function')
  if (name === undefined) return undefined
  const dot = name.lastIndexOf('.')
  if (dot <= 0 || dot === name.length - 1) throw new UsageError(`--function must be model.method (e.g. res.partner.sync), got ${JSON.stringify(name)}`)
  return { model: name.slice(0, dot), method: name.slice(dot + 1) }
}

/**
 * --token, else the WHARF_TOKEN environment variable (an empty one is none), refused unless a
 * dashboard could have it. Never printed: it is a secret. (fetch() refused one with a line break
 * as "cannot reach the dashboard", printing it.)
 */
export function tokenOption(values: Values): string | undefined {
  const given = stringOption(values, 'token')
  const token = given ?? (process.env.WHARF_TOKEN || undefined)
  if (token !== undefined && !isTokenText(token)) {
    throw new UsageError(`${given === undefined ? 'WHARF_TOKEN' : '--token'} must be 1 to 4096 printable ASCII characters without spaces, as a dashboard's token is (got ${token.length} characters, not shown)`)
  }
  return token
}

/** An http(s) URL, without a trailing slash: the base the dashboard is mounted at. */
export function urlOption(values: Values): string | undefined {
  const text = stringOption(values, 'url')
  if (text === undefined) return undefined
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(`--url must be a URL such as http://127.0.0.1:7777, got ${JSON.stringify(text)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url must be an http:// or https:// URL, got ${JSON.stringify(text)}`)
  if (url.search !== '' || url.hash !== '') throw new UsageError(`--url is the dashboard's base URL, without a query or fragment, got ${JSON.stringify(text)}`)
  // fetch() refuses credentials in a URL (and a command line is visible to other users): say so
  // here, without printing the password, rather than "cannot reach" with it.
  if (url.username !== '' || url.password !== '') {
    const shown = new URL(url.href)
    if (shown.password !== '') shown.password = '***'
    throw new UsageError(`--url must not hold a user name or password; give the dashboard token with --token or WHARF_TOKEN, got ${JSON.stringify(shown.href)}`)
  }
  return url.href.replace(/\/+$/, '')
}

/**
 * Job uuids given as arguments: exactly `count`, or at least one ('some'). Each is checked as the
 * dashboard API checks a uuid, in every mode (as --after): --url refused "a b" (HTTP 400, exit 2,
 * and for an action the whole call) while --path reported it unknown and acted on the others.
 */
export function uuidArgs(positionals: readonly string[], count: 1 | 'some'): string[] {
  const uuids = positionalArgs(positionals, 'UUID', count)
  const bad = uuids.find((uuid) => !isUuidParam(uuid))
  if (bad !== undefined) throw new UsageError(`UUID ${JSON.stringify(bad)} cannot be a job uuid (no spaces or control characters, at most 200 characters)`)
  return uuids
}

/** Exactly `count` positionals (or at least one with count 'some'), named `name` in errors. */
export function positionalArgs(positionals: readonly string[], name: string, count: number | 'some'): string[] {
  if (count === 'some' ? positionals.length === 0 : positionals.length < count) throw new UsageError(`missing ${name}`)
  if (count !== 'some' && positionals.length > count) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[count])}`)
  for (const p of positionals) if (p.length === 0) throw new UsageError(`${name} must not be empty`)
  return [...positionals]
}
