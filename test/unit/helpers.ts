// Small helpers shared by the unit tests (not a test file itself).

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, vi } from 'vitest'
import type { EventLog, Logger, Wharf, WharfEvent } from '../../src/index.js'
import type { HistoryWrite } from '../../src/storage/history.js'
import { LevelLog, type LevelLogOptions } from '../../src/storage/level-log.js'

/** A logger that keeps the messages of the warnings of `code`. */
export function warningsOf(code: string): { logger: Logger; messages: string[] } {
  const messages: string[] = []
  const ignore = (): void => undefined
  return { messages, logger: { debug: ignore, info: ignore, error: ignore, warn: (fields, message) => void ((fields as { code?: string }).code === code && messages.push(message ?? '')) } }
}

/** Runs `f` and returns what it threw or rejected with; fails when nothing was thrown. */
export async function failure(f: () => unknown): Promise<unknown> {
  try {
    await f()
  } catch (error) {
    return error
  }
  throw new Error('expected an error, nothing was thrown')
}

/** A promise a handler waits on (`wait`) until the test opens it. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void
  const wait = new Promise<void>((resolve) => (open = resolve))
  return { wait, open }
}

/**
 * The Wharfs a test file opens (push them), closed after each test — without waiting for a handler
 * that a failed test left waiting on its gate. Call once per file: it registers its own afterEach.
 */
export function closedAfterEach(): Wharf[] {
  const opened: Wharf[] = []
  afterEach(async () => {
    for (const wharf of opened.splice(0)) await wharf.close({ timeoutMs: 0 })
  })
  return opened
}

/**
 * Delegates to a log; appends fail while `failing` is set (before anything is written), and
 * `hold()` keeps the next append in flight until its gate is released (written or failed).
 */
export class FlakyLog implements EventLog {
  failing = false
  failures = 0
  opened = 0
  closed = 0
  constructor(readonly inner: EventLog) {}
  async open(): Promise<void> {
    this.opened++
    await this.inner.open()
  }
  private held: { entered: () => void; gate: Promise<Error | null> } | null = null

  /** The next append waits: `entered` resolves once it is in flight; `release` ends it. */
  hold(): { entered: Promise<void>; release: (error?: Error) => void } {
    let entered!: () => void
    let release!: (error: Error | null) => void
    const gate = new Promise<Error | null>((resolve) => (release = resolve))
    const enteredPromise = new Promise<void>((resolve) => (entered = resolve))
    this.held = { entered, gate }
    return { entered: enteredPromise, release: (error) => release(error ?? null) }
  }

  get history(): EventLog['history'] {
    return this.inner.history
  }

  async append(batch: readonly WharfEvent[], history?: HistoryWrite): Promise<void> {
    const held = this.held
    if (held !== null) {
      this.held = null
      held.entered()
      const error = await held.gate
      if (error !== null) throw error
    }
    if (this.failing) {
      this.failures++
      return Promise.reject(new Error('disk hiccup'))
    }
    return this.inner.append(batch, history)
  }
  initHistory(views: Parameters<EventLog['initHistory']>[0]) {
    return this.inner.initHistory(views)
  }
  read(afterSeq?: number) {
    return this.inner.read(afterSeq)
  }
  readSnapshot() {
    return this.inner.readSnapshot()
  }
  writeSnapshot(snapshot: Parameters<EventLog['writeSnapshot']>[0]) {
    return this.inner.writeSnapshot(snapshot)
  }
  compact(uptoSeq: number) {
    return this.inner.compact(uptoSeq)
  }
  async close(): Promise<void> {
    this.closed++
    await this.inner.close()
  }
}


/**
 * LevelLogs on fresh temporary paths, closed and removed after each test (with every mock
 * restored). Call once per file or describe: it registers its own afterEach.
 */
export function tempLevelLogs(prefix: string) {
  const dirs: string[] = []
  const logs: LevelLog[] = []
  afterEach(async () => {
    vi.restoreAllMocks()
    for (const log of logs.splice(0)) await log.close()
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
  })
  return {
    /** A fresh path `leaf` inside a new temporary directory (nothing created there yet). */
    async path(leaf = 'jobs'): Promise<string> {
      const dir = await mkdtemp(join(tmpdir(), prefix))
      dirs.push(dir)
      return join(dir, leaf)
    },
    /** A LevelLog at `path`, not opened, closed after the test. */
    at(path: string, options?: LevelLogOptions): LevelLog {
      const log = new LevelLog(path, options)
      logs.push(log)
      return log
    },
  }
}
