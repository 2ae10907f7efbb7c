// Proves that the background history scrub names damage an open cannot see: on a closed store,
// LevelDB is changed directly — an index key, a view, a count key deleted or changed, a view's
// byte flipped, an index key moved to another uuid or garbled — and the next plain open's scrub
// names each (wharf.integrity() and a WHARF_HISTORY_DAMAGED warning) while the store stays
// usable, and 'truncate' repairs it so that the scrub after it finds nothing. And that on a
// healthy store a scrub held open while appends, requeues out of history, vacuums and compactions
// commit reports nothing, and that a scrub leaves no file behind, stopped or done.
import { spawn } from 'node:child_process'
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ClassicLevel } from 'classic-level'
import { afterEach, describe, expect, it } from 'vitest'
import { chain, FakeClock, LevelLog, Wharf, type JobView, type OpenOptions } from '../../src/index.js'
import { COMBO_INDEX, COMPLETE_KEY, COUNT_PREFIX, INDEX_PREFIX, VIEW_PREFIX } from '../../src/storage/level-history.js'
import type { HistoryScrub } from '../../src/storage/history.js'
import { tempLevelLogs } from './helpers.js'
import { nodeArgs } from '../build/node-args.js'

const temp = tempLevelLogs('wharf-history-scrub-')
/** A uuid (at the end of `text`) moved to one no job has: ULIDs made in one millisecond count up
 * by one, so changing only the last character could name the job made just after it. */
const movedUuid = (text: string): string => text.slice(0, -4) + (text.endsWith('ZZZZ') ? '0000' : 'ZZZZ')
const CHANNELS = 'root:4,root.mail:2'
const START_MS = Date.UTC(2026, 0, 1)
const DAY = 86_400_000
const opened: Wharf[] = []
afterEach(async () => {
  for (const wharf of opened.splice(0)) await wharf.close()
})

async function open(options: OpenOptions): Promise<{ wharf: Wharf; m: ReturnType<typeof define> }> {
  const wharf = await Wharf.open({ channels: CHANNELS, clock: new FakeClock(START_MS), ...options })
  opened.push(wharf)
  return { wharf, m: define(wharf) }
}

const define = (wharf: Wharf) => wharf.model('scrub.job', { run: (tag: string) => `ran ${tag}` })

interface Given {
  path: string
  plain: JobView
  mail: JobView
  keyed: JobView
  cancelled: JobView
  graphed: JobView
}

/** A closed store with finished jobs of every kind of key: plain, another channel, an identity key, cancelled, a graph. */
async function givenHistory(): Promise<Given> {
  const path = await temp.path()
  const { wharf, m } = await open({ path })
  for (let i = 0; i < 5; i++) await m.withDelay().run(`filler ${i}`)
  const plain = await m.withDelay().run('plain')
  const mail = await m.withDelay({ channel: 'root.mail' }).run('mail')
  const keyed = await m.withDelay({ identityKey: 'the-key' }).run('keyed')
  const cancelled = await m.withDelay({ eta: 3600 }).run('cancelled')
  await wharf.cancel(cancelled.uuid)
  const a = m.delayable().run('a')
  await chain(a, m.delayable().run('b')).delay()
  const graphed = a.job!
  await wharf.start()
  await wharf.idle()
  expect(wharf.stats().states).toMatchObject({ done: 10, cancelled: 1 })
  await wharf.close()
  return { path, plain, mail, keyed, cancelled, graphed }
}

async function tamper(path: string, change: (db: ClassicLevel<string, Uint8Array>) => Promise<void>): Promise<void> {
  const db = new ClassicLevel<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' })
  await db.open()
  await change(db)
  await db.close()
}

async function keysOf(db: ClassicLevel<string, Uint8Array>, prefix: string, uuid?: string): Promise<string[]> {
  const keys = await db.keys({ gte: prefix, lt: prefix.slice(0, -1) + '\x01' }).all()
  return uuid === undefined ? keys : keys.filter((k) => k.endsWith('\x00' + uuid))
}

/** Open plainly, wait for the scrub, and return its report with the warnings it gave. */
async function scrubbed(path: string): Promise<{ wharf: Wharf; m: ReturnType<typeof define>; report: Awaited<ReturnType<Wharf['integrity']>>; warnings: Error[] }> {
  const warnings: Error[] = []
  const onWarning = (w: Error): void => void warnings.push(w)
  process.on('warning', onWarning)
  try {
    const { wharf, m } = await open({ path })
    const report = await wharf.integrity()
    await new Promise((resolve) => setImmediate(resolve)) // warnings are emitted on the next tick
    return { wharf, m, report, warnings }
  } finally {
    process.off('warning', onWarning)
  }
}

describe('the history scrub names damage a plain open does not see', () => {
  type Case = [what: string, change: (given: Given, db: ClassicLevel<string, Uint8Array>) => Promise<void>, expected: (given: Given) => RegExp[], absent?: RegExp]
  const cases: Case[] = [
    [
      'a deleted composite index key',
      async (g, db) => db.del((await keysOf(db, COMBO_INDEX, g.plain.uuid))[0]!),
      (g) => [new RegExp(`1 finished job\\(s\\) in history are missing from a history index \\(1 key\\(s\\); jobs\\(\\) filters miss them\\): ${g.plain.uuid}$`)],
    ],
    [
      'a deleted identity index key',
      async (g, db) => db.del((await keysOf(db, INDEX_PREFIX + 'k\x00', g.keyed.uuid))[0]!),
      (g) => [new RegExp(`missing from a history index \\(1 key\\(s\\); jobs\\(\\) filters miss them\\): ${g.keyed.uuid}$`)],
    ],
    [
      'a deleted graph index key',
      async (g, db) => db.del((await keysOf(db, INDEX_PREFIX + 'g\x00', g.graphed.uuid))[0]!),
      (g) => [new RegExp(`missing from a history index \\(1 key\\(s\\); jobs\\(\\) filters miss them\\): ${g.graphed.uuid}$`)],
    ],
    [
      'a deleted view',
      async (g, db) => db.del(VIEW_PREFIX + g.mail.uuid),
      (g) => [
        new RegExp(`^1 finished job\\(s\\) named by a history index have no view \\(lost from history\\): ${g.mail.uuid}$`),
        /^1 history index key\(s\) name a job without a readable view$/,
        /^1 history count\(s\) differ from the views in history: channel root\.mail, function scrub\.job\.run: counted 1 done, 0 cancelled, views 0 done, 0 cancelled$/,
      ],
    ],
    [
      'a view with a flipped byte',
      async (g, db) => {
        const bytes = Buffer.from((await db.get(VIEW_PREFIX + g.cancelled.uuid))!)
        bytes[bytes.length - 3]! ^= 0x20
        await db.put(VIEW_PREFIX + g.cancelled.uuid, bytes)
      },
      (g) => [new RegExp(`^1 finished job view\\(s\\) in history are damaged \\(checksum or JSON\\): ${g.cancelled.uuid}$`), /counted 9 done, 1 cancelled, views 9 done, 0 cancelled$/],
    ],
    [
      'a changed count',
      async (_g, db) => db.put(COUNT_PREFIX + 'root\x00scrub.job\x00run', Buffer.from('[12,1]')),
      () => [/^1 history count\(s\) differ from the views in history: channel root, function scrub\.job\.run: counted 12 done, 1 cancelled, views 9 done, 1 cancelled$/],
    ],
    [
      'a deleted count key',
      async (_g, db) => db.del(COUNT_PREFIX + 'root.mail\x00scrub.job\x00run'),
      () => [/channel root\.mail, function scrub\.job\.run: no count, views 1 done, 0 cancelled$/],
    ],
    [
      'an index key moved to another uuid (a garbled key)',
      async (g, db) => {
        const key = (await keysOf(db, COMBO_INDEX, g.plain.uuid))[0]!
        await db.batch([{ type: 'del', key }, { type: 'put', key: movedUuid(key), value: new Uint8Array(0) }])
      },
      (g) => [new RegExp(`have no view \\(lost from history\\): ${movedUuid(g.plain.uuid)}$`), new RegExp(`missing from a history index .*: ${g.plain.uuid}$`)],
    ],
    [
      'an identity index key garbled in its identity key (same count, same uuid: the digest differs)',
      async (g, db) => {
        const key = (await keysOf(db, INDEX_PREFIX + 'k\x00', g.keyed.uuid))[0]!
        await db.batch([{ type: 'del', key }, { type: 'put', key: key.replace('the-key', 'the-kez'), value: new Uint8Array(0) }])
      },
      (g) => [/^1 history index key\(s\) are keys no view needs \(garbled\)$/, new RegExp(`missing from a history index .*: ${g.keyed.uuid}$`)],
      /lost from history/,
    ],
    [
      'a graph index key garbled into bytes that are no UTF-8 (only its bytes can delete it)',
      async (g, db) => {
        const key = (await keysOf(db, INDEX_PREFIX + 'g\x00', g.graphed.uuid))[0]!
        const raw = Buffer.from(key)
        raw[raw.length - 3] = 0xe3 // a lead byte with no continuation
        await db.batch([{ type: 'del', key }, { type: 'put', key: raw as unknown as string, value: new Uint8Array(0), keyEncoding: 'view' }])
      },
      (g) => [/^1 history index key\(s\) are keys no view needs \(garbled\)$/, new RegExp(`missing from a history index .*: ${g.graphed.uuid}$`)],
    ],
  ]

  for (const [what, change, expected, absent] of cases) {
    it(`${what}: named by integrity() and a WHARF_HISTORY_DAMAGED warning; the store stays usable; 'truncate' repairs it`, async () => {
      const given = await givenHistory()
      await tamper(given.path, (db) => change(given, db))
      const { wharf, m, report, warnings } = await scrubbed(given.path)
      expect(report.status).toBe('damaged')
      for (const pattern of expected(given)) expect(report.problems.some((p) => pattern.test(p)), `${pattern} in ${JSON.stringify(report.problems)}`).toBe(true)
      if (absent !== undefined) expect(report.problems.filter((p) => absent.test(p))).toEqual([])
      const named = warnings.filter((w) => (w as { code?: string }).code === 'WHARF_HISTORY_DAMAGED')
      expect(named).toHaveLength(1)
      for (const problem of report.problems) expect(named[0]!.message).toContain(problem)
      await wharf.start()
      expect((await m.withDelay().run('after')).state).toBe('pending') // still usable
      await wharf.idle()
      await wharf.close()
      const repair = await open({ path: given.path, onCorruption: 'truncate' })
      await repair.wharf.close()
      const after = await scrubbed(given.path)
      expect(after.report).toMatchObject({ status: 'ok', problems: [] })
      expect(after.warnings).toEqual([])
    })
  }

  it("a lost completeness mark fails a plain open (a replay would file finished jobs again); 'truncate' puts it back", async () => {
    const given = await givenHistory()
    await tamper(given.path, (db) => db.del(COMPLETE_KEY))
    await expect(open({ path: given.path })).rejects.toThrow(/holds finished jobs but its completeness mark \(key "h\\u0000complete"\) is missing/)
    const warnings: string[] = []
    const onWarning = (w: Error): void => void warnings.push(w.message)
    process.on('warning', onWarning)
    const repair = await open({ path: given.path, onCorruption: 'truncate' }).finally(() => process.off('warning', onWarning))
    expect(repair.wharf.stats().states).toMatchObject({ done: 10, cancelled: 1 })
    await repair.wharf.close()
    await new Promise((resolve) => setImmediate(resolve))
    expect(warnings.some((w) => w.includes('completeness mark'))).toBe(true)
    const after = await scrubbed(given.path)
    expect(after.report).toEqual({ status: 'ok', problems: [], views: 11 })
    expect(after.wharf.stats().states).toMatchObject({ done: 10, cancelled: 1 })
  })

  it('a healthy store: ok, every view read, no warning', async () => {
    const given = await givenHistory()
    const { report, warnings } = await scrubbed(given.path)
    expect(report).toEqual({ status: 'ok', problems: [], views: 11 })
    expect(warnings).toEqual([])
  })

  it("a healthy store with finished jobs of a batch: ok, and 'truncate' keeps their batch index", async () => {
    const path = await temp.path()
    const { wharf, m } = await open({ path })
    const batch = await wharf.batch('nightly', [m.delayable().run('one'), m.delayable().run('two')], { onDone: m.delayable().run('after') })
    await wharf.start()
    await wharf.idle()
    expect((await wharf.batchView(batch.uuid))?.state).toBe('done')
    await wharf.close()
    const { wharf: scrubbedWharf, report, warnings } = await scrubbed(path)
    expect(report).toEqual({ status: 'ok', problems: [], views: 3 })
    expect(warnings).toEqual([])
    await scrubbedWharf.close()
    const repair = await open({ path, onCorruption: 'truncate' })
    expect(await repair.wharf.jobs({ batchUuid: batch.uuid })).toHaveLength(2)
  })

  it("off with scrubHistory: false, for history in memory and for a LevelLog made without it; a bad value refused", async () => {
    const given = await givenHistory()
    const off = await open({ path: given.path, scrubHistory: false })
    expect(await off.wharf.integrity()).toEqual({ status: 'off', problems: [], views: 0 })
    await off.wharf.close()
    const memory = await open({})
    expect(await memory.wharf.integrity()).toEqual({ status: 'off', problems: [], views: 0 })
    const plainLog = await open({ log: new LevelLog(given.path) }) // a LevelLog made without its scrubHistory option
    expect(await plainLog.wharf.integrity()).toEqual({ status: 'off', problems: [], views: 0 })
    await plainLog.wharf.close()
    await expect(open({ scrubHistory: 'yes' as unknown as boolean })).rejects.toThrow('Wharf.open(): scrubHistory must be a boolean, got "yes"')
  })

  it("'stopped' when the Wharf closes first; the files it read are removed, and so are those a dead process left", async () => {
    const given = await givenHistory()
    await mkdir(join(given.path, 'wharf-scrub-999999-1'))
    await writeFile(join(given.path, 'wharf-scrub-999999-1', 'CURRENT'), 'left by a process that died scrubbing')
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    const log = new GatedLog(given.path, { scrubHistory: true })
    log.gate = released // the scrub's end is seen only once close() has stopped it
    log.onStop = release
    const { wharf } = await open({ log })
    expect((await readdir(given.path)).filter((n) => n.startsWith('wharf-scrub-'))).not.toContain('wharf-scrub-999999-1')
    const report = wharf.integrity()
    await wharf.close()
    expect(await report).toEqual({ status: 'stopped', problems: [], views: 0 })
    expect((await readdir(given.path)).filter((n) => n.startsWith('wharf-'))).toEqual([])
  })
})

/** A LevelLog whose scrub is seen to end only once `gate` resolves; `onStop` is told of a stop. */
class GatedLog extends LevelLog {
  gate: Promise<void> = Promise.resolve()
  onStop: () => void = () => {}
  override scrubHistory(): HistoryScrub {
    const inner = super.scrubHistory()!
    return {
      where: inner.where,
      done: this.gate.then(() => inner.done),
      stop: async () => {
        this.onStop()
        await inner.stop()
      },
    }
  }
}

describe('the history scrub on a healthy store', () => {
  it('reports nothing while appends, requeues out of history, vacuums and compactions go on, and leaves no file behind', async () => {
    const path = await temp.path()
    const first = await open({ path, removeAfterDays: 3 })
    const old: JobView[] = []
    for (let round = 0; round < 4; round++) old.push(...(await Promise.all(Array.from({ length: 500 }, (_, i) => first.m.withDelay().run(`old ${round} ${i}`)))))
    await first.wharf.start()
    await first.wharf.idle()
    await first.wharf.close()

    const clock = new FakeClock(START_MS + 2 * DAY)
    const log = new GatedLog(path, { scrubHistory: true })
    let committed = 0
    let vacuums = 0
    let release!: () => void
    log.gate = new Promise<void>((resolve) => (release = resolve)) // the scrub runs at least until 60 batches have committed
    const { wharf, m } = await open({ log, clock, removeAfterDays: 3, snapshotEvery: 0 })
    let done = false
    wharf.on('transition', (event) => {
      if (done) return
      if (event.type === 'jobs.vacuumed') vacuums++
      if (++committed >= 60) release()
    })
    const report = wharf.integrity().finally(() => (done = true))
    await wharf.start()
    // The loop runs as long as the scrub does (a child at the lowest priority, slower while this
    // process is busy): how many jobs it stores is counted, never assumed.
    let requeued = 0
    let stored = 0
    for (let i = 0; !done; i++) {
      if (i === 20) await clock.advanceTo(START_MS + 4 * DAY) // the next tick vacuums every old job, batch by batch
      if (i % 10 === 9) await wharf.snapshot() // compacts the log: LevelDB deletes and rewrites tables
      if (i % 2 === 0 && i < 20) {
        await wharf.requeue(old[i]!.uuid) // brought back from history, then done again
        requeued++
      } else {
        await m.withDelay().run(`new ${i}`)
        stored++
      }
      await wharf.settled()
    }
    expect(await report).toEqual({ status: 'ok', problems: [], views: old.length })
    expect(vacuums).toBeGreaterThan(0)
    expect(committed).toBeGreaterThanOrEqual(60)
    await wharf.idle()
    await wharf.close()
    expect((await readdir(path)).filter((n) => n.startsWith('wharf-'))).toEqual([])
    // And the store as it is now, after all that:
    const again = await scrubbed(path)
    expect(again.report.status).toBe('ok')
    // Every old job is gone but those requeued (done again after the vacuum's cut-off).
    expect(again.report.views).toBe(requeued + stored)
  }, 120_000)
})

describe('the scrub child', () => {
  const CHILD = fileURLToPath(new URL('../../src/storage/history-scrub-child.ts', import.meta.url))
  /** The child's exit code when its parent died first (history-scrub-child.ts). */
  const PARENT_GONE_EXIT = 3

  /** Run the child on the closed store at `path`; `orphan`: its stdin ends at once, as when the parent is SIGKILLed. */
  function runChild(path: string, orphan: boolean): Promise<{ code: number | null; out: string }> {
    const child = spawn(process.execPath, [...nodeArgs(CHILD), path], { stdio: ['pipe', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    child.stdin.write('b') // busy: the child pauses after every step, so it is still checking when its stdin ends
    if (orphan) child.stdin.end()
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })))
  }

  it('ends at once, answering nothing, when its parent dies (a SIGKILLed app leaves no scrub running over the files the next open removes)', async () => {
    const path = await temp.path()
    const { wharf, m } = await open({ path, scrubHistory: false })
    await wharf.delayMany(Array.from({ length: 3000 }, (_, i) => m.delayable().run(`job ${i}`)))
    await wharf.start()
    await wharf.idle()
    await wharf.close()
    expect(await runChild(path, true)).toEqual({ code: PARENT_GONE_EXIT, out: '' })
    const answered = await runChild(path, false) // and with its parent there, it checks all of history
    expect(answered.code).toBe(0)
    expect(JSON.parse(answered.out)).toEqual({ views: 3000, problems: [] })
  })
})
