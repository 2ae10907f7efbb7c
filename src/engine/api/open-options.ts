// Wharf.open()'s options: what each means, and their checks — refused with an error that names
// the bad value, before anything is opened.

import type { ChannelConfig } from '../core/channel-config.js'
import { formatChannelConfig, parseChannelConfig } from '../core/channel-config.js'
import { InvalidChannelConfigError, InvalidPropertyError } from '../errors.js'
import { SystemClock, type Clock } from '../runtime/clock.js'
import { TIME_MS_MAX } from '../core/limits.js'
import { ulidFactory, type IdFactory } from '../runtime/ids.js'
import type { TelemetryOptions } from '../runtime/telemetry.js'
import { warnerFor, type Logger, type Warn } from '../runtime/warnings.js'
import type { EventLog } from '../../storage/event-log.js'
import { LevelLog } from '../../storage/level-log.js'
import { PgLog } from '../../storage/pg-log.js'
import { schemaProblem } from '../../storage/pg-schema.js'
import { connectionUrlProblem, redactedUrl } from '../../storage/pg-url.js'
import { VolatileLog } from '../../storage/volatile-log.js'
import { isOptionsObject } from './options-object.js'
import { describe, LONE_SURROGATE, NOT_IN_IDS } from './properties.js'
import { hostname } from 'node:os'

/** The longest id a custom `newId` may return (a ULID has 26 characters, a UUID 36). */
export const CUSTOM_ID_LENGTH_MAX = 200

/** The longest cluster node name accepted. */
export const NODE_NAME_MAX = 200

/** @internal Open option (a symbol: no app passes it by mistake): with `postgres`, join the
 * cluster as a member that never takes the lease, so never becomes the scheduler (the CLI). */
export const NEVER_SCHEDULER: unique symbol = Symbol('wharf.neverScheduler')

export interface OpenOptions {
  /** LevelDB directory. Omitted (and no `postgres`): in-memory log (nothing survives close). */
  path?: string
  /**
   * PostgreSQL connection URL (postgres://user:password@host:port/database), instead of `path`:
   * the log, snapshots and history live in tables of `schema`, created on first open. Needs the
   * `postgres` package installed. Every process that opens the same schema joins one cluster: one
   * is the scheduler, the others follow it (runtime/cluster.ts); durability is PostgreSQL's commit.
   */
  postgres?: string
  /** With `postgres`: this process's name in the cluster, unique among its live members (else
   * open() is refused with NodeNameInUseError): at most 200 characters of well-formed text, no
   * control characters. Default `<host>:<pid>`. */
  node?: string
  /**
   * With `postgres`: handlers this process runs at once, a positive integer. Default unlimited.
   * Channel capacities are cluster-wide in any case; this bounds one process's share of them.
   */
  workers?: number
  /** With `postgres`: the schema that holds Wharf's tables, a lowercase identifier. Default 'wharf'. */
  schema?: string
  /** @internal See NEVER_SCHEDULER. */
  [NEVER_SCHEDULER]?: boolean
  /** queue_job grammar. Default: process.env.WHARF_CHANNELS ?? 'root:1'. */
  channels?: string
  clock?: Clock
  /** Context keys carried with jobs. Default ['tz', 'lang']. */
  contextKeys?: string[]
  /** Run delayed calls at once, store nothing. Default: process.env.WHARF_NO_DELAY === '1'. */
  noDelay?: boolean
  /**
   * 'process' (default): a batch is written before its call resolves, not synced; survives kill -9.
   * 'fsync': every batch, and the end-of-log mark (WHARF-END), synced; survives power loss.
   */
  durability?: 'process' | 'fsync'
  removeAfterDays?: number
  /**
   * What to do when the LevelDB log holds a corrupt record, or ends below its end-of-log mark
   * (acknowledged events are missing): 'throw' (default) refuses to open with a
   * LogCorruptionError naming the seqs; 'truncate' is the explicit recovery — the corrupt record
   * and everything after it are dropped, a lost tail is accepted (reported through process
   * warnings that count the events lost).
   */
  onCorruption?: 'throw' | 'truncate'
  /**
   * Write a snapshot and compact the log after this many events (0 = never). Default: 50,000
   * events, and at least SNAPSHOT_EVENTS_PER_LIVE_JOB (8) per live job, so that a large backlog,
   * which makes each snapshot costly, is snapshotted less often.
   */
  snapshotEvery?: number
  /**
   * Check all of history once after open, in the background (a child process, on the store's
   * files as they were at open), that every finished job's view, index keys and counts agree
   * (default true; a store on disk only). LevelDB does not verify table checksums on reads, so
   * damage that hides finished jobs is found only this way; it is warned (WHARF_HISTORY_DAMAGED)
   * and reported by wharf.integrity().
   */
  scrubHistory?: boolean
  /** Advanced: an EventLog to use instead of the default (tests, simulations). */
  log?: EventLog
  /** Advanced: job and graph id factory (default: monotonic ULIDs). */
  newId?: IdFactory
  /** Advanced: uniform [0, 1) source for retry-delay ranges (default Math.random). */
  random?: () => number
  /**
   * OpenTelemetry: a Tracer (one span per try) and/or a Meter (counters and histograms per
   * function and channel), from @opentelemetry/api — which Wharf does not import itself.
   */
  telemetry?: TelemetryOptions
  /** pino-style { debug, info, warn, error }: Wharf's warnings (also emitted as process
   * warnings), the engine's failure, open and close, and (debug) each try's end. */
  logger?: Logger
}

/** The channel configuration, or its error saying where the text came from: a WHARF_CHANNELS set
 * in a deployment, not in the code, is otherwise hard to find. */
function parseChannelsOf(text: string, source: 'WHARF_CHANNELS' | 'channels'): ChannelConfig[] {
  try {
    return parseChannelConfig(text)
  } catch (error) {
    if (error instanceof InvalidChannelConfigError) throw new InvalidChannelConfigError(`Wharf.open(): ${source}: ${error.message}`)
    throw error
  }
}

export const OPEN_OPTIONS = new Set(['path', 'postgres', 'schema', 'node', 'workers', 'channels', 'clock', 'contextKeys', 'noDelay', 'durability', 'onCorruption', 'removeAfterDays', 'snapshotEvery', 'scrubHistory', 'log', 'newId', 'random', 'telemetry', 'logger'])
export const DEFAULT_REMOVE_AFTER_DAYS = 30
export const DEFAULT_SNAPSHOT_EVERY = 50_000

export interface CheckedOpenOptions {
  log: EventLog
  clock: Clock
  channels: ChannelConfig[]
  contextKeys: readonly string[]
  noDelay: boolean
  newId: IdFactory
  /** Uniform [0, 1): a custom one's values are checked as they are drawn. */
  random: () => number
  scrubHistory: boolean
  /** null when neither a tracer nor a meter was given. */
  telemetry: TelemetryOptions | null
  logger: Logger | null
  /** Where warnings go: process warnings, and the logger's warn when there is one. */
  warn: Warn
  /** With `postgres`: this process's name in the cluster (null: not on PostgreSQL). */
  node: string | null
  /** With `postgres`: handlers this process runs at once (null: unlimited). */
  workers: number | null
}

export function checkOpenOptions(options: OpenOptions): CheckedOpenOptions {
  if (!isOptionsObject(options)) {
    throw new InvalidPropertyError(`Wharf.open() needs an options object, got ${describe(options)}`)
  }
  for (const key of Object.keys(options)) {
    if (!OPEN_OPTIONS.has(key)) {
      throw new InvalidPropertyError(`Wharf.open(): unknown option ${JSON.stringify(key)}; known: ${[...OPEN_OPTIONS].join(', ')}`)
    }
  }
  if (options.path !== undefined && (typeof options.path !== 'string' || options.path.length === 0)) {
    throw new InvalidPropertyError(`Wharf.open(): path must be a directory path, got ${describe(options.path)}`)
  }
  if (options.path !== undefined && options.log !== undefined) {
    throw new InvalidPropertyError('Wharf.open(): give either `path` (LevelDB) or `log`, not both')
  }
  checkPostgresOptions(options)
  checkLevelOnlyOptions(options)
  const every = options.snapshotEvery
  if (every !== undefined && (!Number.isSafeInteger(every) || every < 0)) {
    throw new InvalidPropertyError(`Wharf.open(): snapshotEvery must be a non-negative integer of events, got ${describe(every)}`)
  }
  const channelsText = options.channels ?? process.env.WHARF_CHANNELS ?? 'root:1'
  if (typeof channelsText !== 'string') {
    throw new InvalidChannelConfigError(`Wharf.open(): channels must be a string such as 'root:4,root.mail:1', got ${describe(channelsText)}`)
  }
  const contextKeys = options.contextKeys ?? ['tz', 'lang']
  if (!Array.isArray(contextKeys) || !contextKeys.every((k) => typeof k === 'string')) {
    throw new InvalidPropertyError(`Wharf.open(): contextKeys must be an array of strings, got ${describe(contextKeys)}`)
  }
  if (options.noDelay !== undefined && typeof options.noDelay !== 'boolean') {
    throw new InvalidPropertyError(`Wharf.open(): noDelay must be a boolean, got ${describe(options.noDelay)}`)
  }
  if (options.durability !== undefined && options.durability !== 'process' && options.durability !== 'fsync') {
    throw new InvalidPropertyError(`Wharf.open(): durability must be 'process' or 'fsync', got ${describe(options.durability)}`)
  }
  if (options.onCorruption !== undefined && options.onCorruption !== 'throw' && options.onCorruption !== 'truncate') {
    throw new InvalidPropertyError(`Wharf.open(): onCorruption must be 'throw' or 'truncate', got ${describe(options.onCorruption)}`)
  }
  if (options.scrubHistory !== undefined && typeof options.scrubHistory !== 'boolean') {
    throw new InvalidPropertyError(`Wharf.open(): scrubHistory must be a boolean, got ${describe(options.scrubHistory)}`)
  }
  const days = options.removeAfterDays
  if (days !== undefined && (typeof days !== 'number' || !Number.isFinite(days) || days <= 0)) {
    throw new InvalidPropertyError(`Wharf.open(): removeAfterDays must be a positive number, got ${describe(days)}`)
  }
  checkInjected(options)
  const clock = options.clock ?? new SystemClock()
  const logger = options.logger === undefined ? null : checkLogger(options.logger)
  const warn = warnerFor(logger)
  const onWarning = (message: string): void => warn(message, 'WHARF_LOG_RECOVERED')
  const node = options.postgres === undefined ? null : (options.node ?? `${hostname()}:${process.pid}`)
  const channels = parseChannelsOf(channelsText, options.channels === undefined && process.env.WHARF_CHANNELS !== undefined ? 'WHARF_CHANNELS' : 'channels')
  return {
    log: options.log ?? logOf(options, node, channels, onWarning),
    clock,
    channels,
    contextKeys: Object.freeze([...contextKeys]),
    noDelay: options.noDelay ?? process.env.WHARF_NO_DELAY === '1',
    newId: options.newId === undefined ? ulidFactory(clock) : checkedIds(options.newId),
    random: options.random === undefined ? Math.random : checkedRandom(options.random, warn),
    scrubHistory: options.scrubHistory ?? true,
    telemetry: options.telemetry === undefined ? null : checkTelemetry(options.telemetry),
    logger,
    warn,
    node,
    workers: options.workers ?? null,
  }
}

/** Without `path` they would be dropped: durability 'fsync' asks for what an in-memory Wharf (or
 * a log built by the app, which carries its own) does not give. */
function checkLevelOnlyOptions(options: OpenOptions): void {
  if (options.path !== undefined || options.postgres !== undefined) return
  for (const other of ['durability', 'onCorruption'] as const) {
    if (options[other] !== undefined) {
      throw new InvalidPropertyError(`Wharf.open(): ${other} ${describe(options[other])} is given without \`path\`; it applies to a LevelDB store (${options.log === undefined ? 'without one, jobs live in memory' : 'a given `log` has its own'})`)
    }
  }
}

/** What tests and simulations inject: an object missing a method would fail inside the engine. */
function checkInjected(options: OpenOptions): void {
  if (options.clock !== undefined && !hasMethods(options.clock, CLOCK_METHODS)) {
    throw new InvalidPropertyError(`Wharf.open(): clock must be a Clock (with ${CLOCK_METHODS.join(', ')}), such as new FakeClock(), got ${describe(options.clock)}`)
  }
  // Read once, as FakeClock checks its start: a clock in seconds (Date.now() / 1000) or one that
  // returns NaN would fail every delay in the ULID encoder, or store NaN as each job's times.
  const nowMs: unknown = options.clock?.now()
  if (options.clock !== undefined && (!Number.isSafeInteger(nowMs) || (nowMs as number) < 0 || (nowMs as number) > TIME_MS_MAX)) {
    throw new InvalidPropertyError(`Wharf.open(): clock.now() must return a whole number of ms from 0 (1970) to TIME_MS_MAX (${TIME_MS_MAX}), returned ${describe(nowMs)}`)
  }
  if (options.log !== undefined && !hasMethods(options.log, LOG_METHODS)) {
    throw new InvalidPropertyError(`Wharf.open(): log must be an EventLog (with ${LOG_METHODS.join(', ')}), such as new MemoryLog(), got ${describe(options.log)}`)
  }
  for (const name of ['newId', 'random'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new InvalidPropertyError(`Wharf.open(): ${name} must be a function, got ${describe(options[name])}`)
    }
  }
}

/** A custom newId's ids are checked as they are made, before any job holds one: a number, an
 * empty string or a lone surrogate (which history's UTF-8 keys would turn into U+FFFD) would be
 * stored as a uuid that no read can find; one with a blank, as a uuid the operator's tools
 * cannot name. */
function checkedIds(newId: IdFactory): IdFactory {
  return () => {
    const id: unknown = newId()
    if (typeof id !== 'string' || id.length === 0 || id.length > CUSTOM_ID_LENGTH_MAX || LONE_SURROGATE.test(id) || NOT_IN_IDS.test(id)) {
      throw new InvalidPropertyError(
        `Wharf.open(): newId() must return a non-empty string of at most ${CUSTOM_ID_LENGTH_MAX} characters (well-formed text, no blanks or control characters), returned ${describe(id)}`,
      )
    }
    return id
  }
}

/** A custom random's value is drawn when a try ends, far from any call that could reject: one
 * out of [0, 1) would make the retry's eta NaN or leave its [min, max] range. It is warned,
 * naming the value, and Math.random() draws that delay instead. */
function checkedRandom(random: () => number, warn: Warn): () => number {
  return () => {
    const x: unknown = random()
    if (typeof x === 'number' && x >= 0 && x < 1) return x
    warn(`Wharf.open(): random() must return a number in [0, 1), returned ${describe(x)}; Math.random() drew this retry delay instead`, 'WHARF_BAD_RANDOM')
    return Math.random()
  }
}

const TELEMETRY_OPTIONS = new Set(['tracer', 'meter'])
const LOGGER_METHODS = ['debug', 'info', 'warn', 'error'] as const
const CLOCK_METHODS = ['now', 'setTimer', 'clearTimer', 'sleep'] as const
const LOG_METHODS = ['open', 'append', 'read', 'initHistory', 'readSnapshot', 'writeSnapshot', 'close'] as const

/** The methods Wharf calls must be there: a wrong object fails here, not at the first job. */
function checkTelemetry(telemetry: TelemetryOptions): TelemetryOptions | null {
  if (!isOptionsObject(telemetry)) {
    throw new InvalidPropertyError(`Wharf.open(): telemetry must be an object { tracer?, meter? }, got ${describe(telemetry)}`)
  }
  for (const key of Object.keys(telemetry)) {
    if (!TELEMETRY_OPTIONS.has(key)) throw new InvalidPropertyError(`Wharf.open(): unknown telemetry option ${JSON.stringify(key)}; known: tracer, meter`)
  }
  const { tracer, meter } = telemetry
  if (tracer !== undefined && !hasMethods(tracer, ['startSpan'])) {
    throw new InvalidPropertyError(`Wharf.open(): telemetry.tracer must be an OpenTelemetry Tracer (with startSpan(), e.g. trace.getTracer('my-app')), got ${describe(tracer)}`)
  }
  if (meter !== undefined && !hasMethods(meter, ['createCounter', 'createHistogram'])) {
    throw new InvalidPropertyError(`Wharf.open(): telemetry.meter must be an OpenTelemetry Meter (with createCounter() and createHistogram(), e.g. metrics.getMeter('my-app')), got ${describe(meter)}`)
  }
  return tracer === undefined && meter === undefined ? null : telemetry
}

function checkLogger(logger: Logger): Logger {
  if (!hasMethods(logger, LOGGER_METHODS)) {
    throw new InvalidPropertyError(`Wharf.open(): logger must have the methods ${LOGGER_METHODS.join(', ')} (pino, console…), got ${describe(logger)}`)
  }
  return logger
}

function hasMethods(value: unknown, names: readonly string[]): boolean {
  return typeof value === 'object' && value !== null && names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function')
}

function logOf(options: OpenOptions, node: string | null, channels: readonly ChannelConfig[], onWarning: (message: string) => void): EventLog {
  if (options.postgres !== undefined) {
    // A member that never schedules (the CLI's) publishes nothing: its configuration never applies.
    const campaign = options[NEVER_SCHEDULER] !== true
    return new PgLog(options.postgres, { schema: options.schema ?? 'wharf', cluster: true, campaign, node: node ?? undefined, channels: campaign ? formatChannelConfig(channels) : undefined })
  }
  if (options.path === undefined) return new VolatileLog()
  const scrubHistory = options.scrubHistory ?? true
  return new LevelLog(options.path, { durability: options.durability ?? 'process', onCorruption: options.onCorruption ?? 'throw', scrubHistory, onWarning, refuseBackup: true })
}

/** `postgres` and `schema`: a URL, a schema name, and nothing that belongs to another store. */
function checkPostgresOptions(options: OpenOptions): void {
  const url = options.postgres
  if (url === undefined) {
    if (options.schema !== undefined) throw new InvalidPropertyError(`Wharf.open(): schema ${describe(options.schema)} is given without \`postgres\`; it names where the PostgreSQL tables live`)
    if (options.node !== undefined) throw new InvalidPropertyError(`Wharf.open(): node ${describe(options.node)} is given without \`postgres\`; it names this process in a PostgreSQL cluster`)
    if (options.workers !== undefined) throw new InvalidPropertyError(`Wharf.open(): workers ${describe(options.workers)} is given without \`postgres\`; it bounds the handlers this process runs in a PostgreSQL cluster`)
    return
  }
  const workers = options.workers
  if (workers !== undefined && (typeof workers !== 'number' || !Number.isSafeInteger(workers) || workers < 1)) {
    throw new InvalidPropertyError(`Wharf.open(): workers must be a positive integer (handlers this process runs at once), got ${describe(workers)}`)
  }
  // A lone surrogate would be stored as U+FFFD in the member row but kept in the worker ids the log
  // carries, so the member would never know the starts assigned to it as its own; PostgreSQL's
  // text holds no NUL; other control characters would garble the CLI's and dashboard's lines.
  const node = options.node
  if (node !== undefined && (typeof node !== 'string' || node.length === 0 || node.length > NODE_NAME_MAX || LONE_SURROGATE.test(node) || /\p{Cc}/u.test(node))) {
    throw new InvalidPropertyError(`Wharf.open(): node must be a non-empty string of at most ${NODE_NAME_MAX} characters, well-formed text with no control characters, got ${describe(node)}`)
  }
  const problem = typeof url === 'string' ? connectionUrlProblem(url) : null
  if (typeof url !== 'string' || problem !== null) {
    const got = typeof url === 'string' ? `${JSON.stringify(redactedUrl(url))}: ${problem}` : describe(url)
    throw new InvalidPropertyError(`Wharf.open(): postgres must be a connection URL such as 'postgres://user@127.0.0.1:5432/app', got ${got}`)
  }
  for (const other of ['path', 'log', 'durability', 'onCorruption', 'scrubHistory'] as const) {
    if (options[other] !== undefined) {
      const why = other === 'scrubHistory' ? ' (the history scrub is for a LevelDB store)' : other === 'durability' || other === 'onCorruption' ? ` (on PostgreSQL, ${other} is the server's)` : ''
      throw new InvalidPropertyError(`Wharf.open(): give either \`postgres\` or \`${other}\`, not both${why}`)
    }
  }
  if (options.schema !== undefined) {
    const problem = typeof options.schema === 'string' ? schemaProblem(options.schema) : schemaProblem('')
    if (problem !== null) throw new InvalidPropertyError(`Wharf.open(): schema ${problem}, got ${describe(options.schema)}`)
  }
}
