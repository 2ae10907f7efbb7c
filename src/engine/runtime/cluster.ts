// Many processes on one PostgreSQL schema (DESIGN §9): each one that opens it is a member. The one
// holding the schema's lease (pg-lease.ts) is the scheduler: its engine runs exactly as an
// embedded one, and also applies the followers' calls from the inbox (inbox-applier.ts). The
// others are followers: their engine decides nothing; it keeps a replica of the committed state
// (replica.ts) for reads, and sends its calls to the inbox (inbox-client.ts). Followers try the
// lease every ELECTION_POLL_MS, and at once when a scheduler leaves (NOTIFY 'leave'); the one
// that takes it catches up, recovers the jobs the last scheduler left started, and goes on. A
// scheduler that finds its lease lost (heartbeat) or its write fenced (a higher term) is deposed:
// its engine stops with SchedulerDeposedError, and the Wharf must be closed and opened again.
//
// Handlers run on the scheduler only (assigning them to other members is the next milestone:
// member rows are where their capacity would be announced).

import { randomUUID } from 'node:crypto'
import type { ChannelConfig } from '../core/channel-config.js'
import { SchedulerDeposedError } from '../errors.js'
import { PgClusterTables, type InboxRow, type MemberRow } from '../../storage/pg-cluster.js'
import type { PgLog } from '../../storage/pg-log.js'
import { encodeAnswer, NO_RESULT_NAME, type ResultTable } from './cluster-wire.js'
import type { Engine, Remote } from './engine.js'
import { InboxApplier } from './inbox-applier.js'
import { InboxClient } from './inbox-client.js'
import { Replica } from './replica.js'
import { replay } from './replay.js'
import type { ResultOf } from './submissions.js'
import type { Warn } from './warnings.js'

/** Every member writes its row this often; the scheduler checks its lease as often. */
export const HEARTBEAT_MS = 1000
/** A follower tries the lease this often (a scheduler killed without a word is found so). */
export const ELECTION_POLL_MS = 250
/** Inbox, replies and log are also read this often, in case a notification was lost. */
export const POLL_MS = 1000
/** A member whose row is older than this is gone (its row is deleted). */
export const MEMBER_ALIVE_MS = 10 * HEARTBEAT_MS
/** Replies to a node not seen for this long are deleted by the scheduler (nobody will read them). */
export const REPLY_KEPT_MS = 300 * HEARTBEAT_MS

export type ClusterRole = MemberRow['role']

/** A member of the cluster, as its last heartbeat (every second) said. */
export interface ClusterNode {
  node: string
  /** When its heartbeat was last seen (ms since the epoch). */
  lastSeenMs: number
  /** Handlers it was running then. */
  running: number
  role: MemberRow['role']
  term: number
}

/** wharf.cluster(): this process, the scheduler, and the members alive. */
export interface ClusterView {
  /** This process's name in the cluster. */
  node: string
  /** The node of the scheduler of the current term, when its heartbeat is recent; else null
   * (during a takeover). */
  leader: string | null
  /** Members with a heartbeat under MEMBER_ALIVE_MS old, by node. */
  nodes: ClusterNode[]
  /** This process's role now ('closed' once this Wharf closed or was deposed). */
  role: ClusterRole | 'closed'
  /** The current term: it grows by one with each scheduler that takes over. */
  term: number
}

export class Cluster {
  private engine: Engine | null = null
  private readonly tables: PgClusterTables
  private readonly client: InboxClient
  private readonly replica: Replica
  private applier: InboxApplier | null = null
  private readonly names: ReadonlyMap<ResultOf<unknown>, string>
  private readonly timers: NodeJS.Timeout[] = []
  private unlisten: (() => Promise<void>) | null = null
  private electing = false
  /** The members and term the last heartbeat read (view() answers from them). */
  private known: { members: MemberRow[]; term: number } = { members: [], term: 0 }
  private beats = 0
  private halted = false

  constructor(
    private readonly log: PgLog,
    readonly node: string,
    private readonly results: ResultTable,
    channels: readonly ChannelConfig[],
    private readonly warn: Warn,
  ) {
    this.tables = new PgClusterTables(log.schema, log.channel)
    this.names = new Map([...results].map(([name, result]) => [result, name]))
    // Replies are addressed to this open of this process, not to its node name: two processes
    // given the same name by mistake (or a restart reusing it) never collect each other's.
    const address = `${node}#${randomUUID()}`
    this.client = new InboxClient({
      post: (body) => this.tables.post(log.pool, address, body),
      collect: () => this.tables.collect(log.pool, address),
      reached: (seq) => this.replica.reached(seq),
      nameOf: (result) => this.nameOf(result),
      settled: () => this.engine?.remoteSettled(),
    })
    const self = this
    this.replica = new Replica({
      tail: (seq) => log.readTail(seq),
      caughtUp: () => log.history.load(),
      replay: async () => (await replay(log, channels)).state,
      get engine() {
        return self.requireEngine()
      },
      pause: () => new Promise((resolve) => setTimeout(resolve, 20)),
    })
  }

  /** EngineOptions.remote: a follower's engine sends its calls to the inbox. */
  readonly remote = (): Remote | null => (this.log.role === 'follower' ? this.client : null)

  /** The engine is open: listen, catch up (follower) or apply the inbox (scheduler), heartbeat. */
  async attach(engine: Engine): Promise<void> {
    this.engine = engine
    engine.onClosed(() => this.halt())
    const listening = this.log.pool.listen(this.log.channel, (payload) => this.onNotify(payload))
    await Promise.all([listening, this.heartbeat()])
    this.unlisten = await listening
    if (this.log.role === 'scheduler') this.lead()
    else await this.replica.catchUp() // what was committed between the replay and LISTEN
    this.every(HEARTBEAT_MS, () => this.heartbeat())
    this.every(POLL_MS, () => this.poll())
    this.every(ELECTION_POLL_MS, () => this.elect())
  }

  /** 'scheduler' once this engine decides (promoted: the recovery is the first thing it decides),
   * not as soon as the lease is taken (it catches up on the log first). */
  get role(): ClusterRole | 'closed' {
    if (this.halted) return 'closed'
    return this.engine === null || this.engine.following ? 'follower' : 'scheduler'
  }

  /** As of the last heartbeat (every second), except this process's own role and term: now. */
  view(): ClusterView {
    const role = this.role
    const term = Math.max(this.known.term, this.log.term)
    const nodes = this.known.members
    const leader = role === 'scheduler' ? this.node : (nodes.find((m) => m.role === 'scheduler' && m.term === term)?.node ?? null)
    return { node: this.node, leader, nodes, role, term }
  }

  /** Wharf.close(): stop the loops and leave the member table (the log closes after this). */
  async stop(): Promise<void> {
    if (this.halted) return
    this.halt()
    await this.tables.leave(this.log.pool, this.node).catch(() => undefined)
  }

  private halt(): void {
    this.halted = true
    for (const timer of this.timers.splice(0)) clearInterval(timer)
    this.applier?.stop()
    const unlisten = this.unlisten
    this.unlisten = null
    void unlisten?.().catch(() => undefined)
  }

  private onNotify(payload: string): void {
    if (this.halted) return
    const kind = payload.split(' ', 1)[0]
    if (kind === 'log' && this.engine?.following === true) this.background(this.replica.catchUp())
    else if (kind === 'inbox' && this.applier !== null) this.background(this.applier.poke())
    else if (kind === 'reply') this.background(this.client.collect())
    else if (kind === 'leave') this.background(this.elect())
  }

  /** Scheduler from now on: apply the inbox, answering with each batch. */
  private lead(): void {
    const log = this.log
    const applier = (this.applier = new InboxApplier({
      take: (taken, limit) => this.tables.take(log.pool, taken, limit),
      submit: (command, result) => this.requireEngine().submit(command, result),
      refuse: (row, error) => this.refuse(row, error),
      stage: (tx, replies, seq) => this.tables.stageReplies(tx, replies, seq),
      writeAlone: (stage) => log.writeAlone(stage),
      results: this.results,
      warn: (message) => this.warn(message, 'WHARF_CLUSTER'),
    }))
    log.stageWithAppend = applier.stage
    this.background(applier.poke())
  }

  /** A follower takes the lease if it is free: catch up under the new term, then promote. */
  private async elect(): Promise<void> {
    const engine = this.requireEngine()
    // A member that does not campaign (the CLI's) stays a follower whoever leaves.
    if (this.electing || this.halted || !engine.following || !this.log.campaigns) return
    this.electing = true
    try {
      if (!(await this.log.tryLead())) return
      await this.replica.catchUp()
      this.lead()
      await engine.promote()
      await this.heartbeat()
    } finally {
      this.electing = false
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.halted) return
    const engine = this.requireEngine()
    if (this.log.role === 'scheduler' && !engine.following && !(await this.log.checkLease())) {
      const error = new SchedulerDeposedError(
        `this Wharf is no longer the scheduler of schema ${JSON.stringify(this.log.schema)}: its session's lock was lost and another process holds it (or a later term); it stopped, and must be closed and opened again to rejoin as a follower`,
        this.log.schema,
      )
      engine.deposed(error)
      return
    }
    const role = this.role
    if (role === 'closed') return
    await this.tables.heartbeat(this.log.pool, this.node, role, this.log.term, engine.runningHandlers)
    this.known = await this.tables.members(this.log.pool, MEMBER_ALIVE_MS)
    if (role === 'scheduler' && ++this.beats % 60 === 0) await this.tables.sweep(this.log.pool, REPLY_KEPT_MS)
  }

  private async poll(): Promise<void> {
    if (this.engine?.following === true) await this.replica.catchUp()
    await this.applier?.poke()
    await this.client.collect()
  }

  private async refuse(row: InboxRow, error: unknown): Promise<void> {
    const body = encodeAnswer({ ok: false, error })
    await this.log.pool.transaction((tx) => Promise.all(this.tables.stageReplies(tx, [{ id: row.id, node: row.node, body }], 0)))
  }

  private nameOf(result: ResultOf<unknown> | undefined): string {
    if (result === undefined) return NO_RESULT_NAME
    const name = this.names.get(result)
    if (name === undefined) throw new Error('a call whose answer function has no name in the cluster result table (cluster-results.ts)')
    return name
  }

  private every(ms: number, work: () => Promise<void>): void {
    const timer = setInterval(() => this.background(work()), ms)
    timer.unref()
    this.timers.push(timer)
  }

  /** Loops never throw: a failure is warned, and the next round tries again. */
  private background(work: Promise<void>): void {
    work.catch((error: unknown) => {
      if (!this.halted) this.warn(`wharf: cluster member ${this.node}: ${error instanceof Error ? error.message : String(error)}`, 'WHARF_CLUSTER')
    })
  }

  private requireEngine(): Engine {
    if (this.engine === null) throw new Error('the cluster has no engine yet')
    return this.engine
  }
}
