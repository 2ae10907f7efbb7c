// Failover time of a PostgreSQL cluster: three member processes (failover-member.ts) share one
// schema and a steady backlog; each trial SIGKILLs the scheduler and measures, on this process's
// clock, from the kill to the first handler start, on a surviving member, of a job started under
// the new term (its startedAt is after the kill: the dead scheduler decided none of those). The
// parts: the lock released by PostgreSQL (the dead process's session ended), detection (the term in `meta` bumped by a follower that took the lock, polled every 2 ms
// on a connection of our own), promotion (that member's role turned 'scheduler': caught up on the
// log, recovered the dead one's runs), first start. A new member replaces the killed one before
// the next trial: a spare, loaded while nothing is measured, that opens when told.

import { spawn, type ChildProcess } from 'node:child_process'
import { extname } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { advisoryLockHeld } from '../storage/pg-cluster.js'
import { connect, type PgPool } from '../storage/pg-driver.js'

const SCRIPT = fileURLToPath(new URL(`./failover-member${extname(fileURLToPath(import.meta.url))}`, import.meta.url))
const MEMBERS = 3
/** A trial that has not seen its first start by then failed. */
const TRIAL_TIMEOUT_MS = 20_000
/** After a member joined: one heartbeat, so that every member is in the pool when the kill comes. */
const SETTLE_MS = 1_200

const nowMs = (): number => performance.timeOrigin + performance.now()
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export interface FailoverTrial {
  /** Kill → the process's exit seen here (its sockets are closed during its exit). */
  goneMs: number
  /** Kill → the schema's lock free (PostgreSQL ended the dead process's session). */
  freedMs: number
  /** Kill → the term bumped (a follower took the lock). */
  lockMs: number
  /** Kill → that follower's role turned 'scheduler'. */
  promotedMs: number
  /** Kill → the first handler start decided under the new term. */
  startMs: number
}

interface Member {
  child: ChildProcess
  node: string
  role: string
  /** Time (its clock) of its last ROLE line. */
  roleAtMs: number
  stderr: string
  /** Resolves at its OPEN line (after activate()). */
  opened: Promise<void>
}

type StartListener = (startedAt: number, atMs: number, member: Member) => void

class Members {
  readonly all: Member[] = []
  private onStart: StartListener | null = null
  private next = 0

  constructor(
    private readonly url: string,
    private readonly schema: string,
  ) {}

  /** Spawn a spare member; resolves once it has loaded (READY), before it opens. */
  spare(): Promise<Member> {
    const child = spawn(process.execPath, [...process.execArgv.filter((a) => !a.startsWith('--expose')), SCRIPT, this.url, this.schema], { stdio: ['pipe', 'pipe', 'pipe'] })
    let opened = (): void => undefined
    const member: Member = { child, node: '', role: 'follower', roleAtMs: 0, stderr: '', opened: new Promise((resolve) => (opened = resolve)) }
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (member.stderr = (member.stderr + chunk).slice(-2_000)))
    return new Promise((resolve, reject) => {
      let buffered = ''
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (buffered + chunk).split('\n')
        buffered = lines.pop()!
        for (const line of lines) this.line(member, line.split(' '), () => resolve(member), opened)
      })
      child.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL') console.error(`failover member ${member.node || '(spare)'} exited (${code ?? signal}): ${member.stderr}`)
        reject(new Error(`failover member exited (${code ?? signal})`))
      })
    })
  }

  /** A spare joins the cluster as the next node; resolves once it is open. */
  async activate(member: Member): Promise<void> {
    member.node = `m${++this.next}`
    this.all.push(member)
    member.child.stdin!.write(member.node + '\n')
    await member.opened
  }

  private line(member: Member, words: string[], ready: () => void, opened: () => void): void {
    const at = nowMs()
    if (words[0] === 'READY') ready()
    else if (words[0] === 'OPEN') opened()
    else if (words[0] === 'ROLE') {
      member.role = words[1]!
      member.roleAtMs = Number(words[3])
    } else if (words[0] === 'START') this.onStart?.(Number(words[1]), at, member)
  }

  /** Resolves with the time of the first start, on a live member, decided after `afterMs`. */
  firstStartAfter(afterMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no job started within ${TRIAL_TIMEOUT_MS} ms of the kill: ${this.all.map((m) => m.stderr).join(' | ')}`)), TRIAL_TIMEOUT_MS)
      this.onStart = (startedAt, atMs, member) => {
        if (startedAt <= afterMs || !this.all.includes(member)) return
        this.onStart = null
        clearTimeout(timer)
        resolve(atMs)
      }
    })
  }

  /** When a live member's role turned 'scheduler' after `afterMs` (its ROLE line may come after
   * the first START line: it polls its role). */
  async promotedAfter(afterMs: number): Promise<number> {
    const deadline = nowMs() + TRIAL_TIMEOUT_MS
    for (;;) {
      const at = this.scheduler?.roleAtMs ?? 0
      if (at > afterMs) return at
      if (nowMs() > deadline) throw new Error(`no member reported the scheduler role within ${TRIAL_TIMEOUT_MS} ms of the kill`)
      await sleep(2)
    }
  }

  get scheduler(): Member | undefined {
    return this.all.find((m) => m.role === 'scheduler')
  }

  /** SIGKILL `member` and forget it at once; resolves once it is gone. */
  async kill(member: Member): Promise<void> {
    const gone = new Promise((resolve) => member.child.once('exit', resolve))
    member.child.kill('SIGKILL')
    const at = this.all.indexOf(member)
    if (at >= 0) this.all.splice(at, 1)
    await gone
  }
}

/** `trials` failovers of a three-process cluster on `url` (a server of its own: a fresh schema). */
export async function measureFailover(url: string, trials: number, onTrial?: (trial: FailoverTrial, index: number) => void): Promise<FailoverTrial[]> {
  const schema = 'failover_bench'
  const members = new Members(url, schema)
  const observer = await connect(url, 'the failover bench', 1)
  const results: FailoverTrial[] = []
  let spare: Member | null = null
  try {
    // One by one: the first is the scheduler, and migrates the schema the others then find.
    for (let i = 0; i < MEMBERS; i++) await members.activate(await members.spare())
    for (let t = 0; t < trials; t++) {
      // The spare loads while the cluster settles.
      spare = (await Promise.all([members.spare(), sleep(SETTLE_MS)]))[0]
      const scheduler = members.scheduler
      if (scheduler === undefined) throw new Error('no member reported the scheduler role')
      const term = await readTerm(observer, schema)
      const killMs = nowMs()
      const started = members.firstStartAfter(killMs)
      const gone = members.kill(scheduler).then(() => nowMs())
      const [lock, startAtMs] = await Promise.all([watchLock(observer, schema, term), started])
      const goneAtMs = await gone
      const promotedAtMs = await members.promotedAfter(killMs)
      results.push({ goneMs: goneAtMs - killMs, freedMs: lock.freedAtMs - killMs, lockMs: lock.bumpedAtMs - killMs, promotedMs: promotedAtMs - killMs, startMs: startAtMs - killMs })
      onTrial?.(results[results.length - 1]!, t)
      await members.activate(spare)
      spare = null
    }
    return results
  } finally {
    await Promise.all([...members.all, ...(spare === null ? [] : [spare])].map((m) => members.kill(m)))
    await observer.end()
  }
}

async function readTerm(sql: PgPool, schema: string): Promise<number> {
  const [row] = (await sql.query(`SELECT term FROM "${schema}".meta WHERE id = 1`)).rows
  return Number(row?.term)
}

/** Polls every 2 ms: when the schema's lock was first seen free (or taken by a new term), and
 * when the term was first seen above `term`. */
async function watchLock(sql: PgPool, schema: string, term: number): Promise<{ freedAtMs: number; bumpedAtMs: number }> {
  const deadline = nowMs() + TRIAL_TIMEOUT_MS
  let freedAtMs: number | null = null
  const held = advisoryLockHeld(`hashtextextended('wharf:' || $1, 0)`)
  while (nowMs() < deadline) {
    const [row] = (await sql.query(`SELECT ${held} AS held, (SELECT term FROM "${schema}".meta WHERE id = 1) AS term`, [schema])).rows
    const now = nowMs()
    if (Number(row?.term) > term) return { freedAtMs: freedAtMs ?? now, bumpedAtMs: now }
    if (row?.held !== true) freedAtMs ??= now
    await sleep(2)
  }
  throw new Error(`the term stayed ${term} for ${TRIAL_TIMEOUT_MS} ms after the kill`)
}
