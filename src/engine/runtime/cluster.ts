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
// Handlers run on every member that started its engine (start()): its heartbeat announces its
// worker id, its job functions and its `workers` slots in its member row. The scheduler assigns
// each start to one of the live workers that registered the job's function and has a free slot
// (the core decides, core/workers.ts; job.started names the worker — the log, not a side table,
// so that the worker learns of it by tailing the log it reads anyway, and a new scheduler knows
// after its replay whose runs it must recover). The worker's replica applies the batch and
// launches the handler (Engine.follow); its outcome comes back through the inbox as a `finish`
// naming the run, which the core applies only while that run is the job's current one — a stale
// outcome (the run was recovered, requeued, cancelled, set done) is dropped, never applied twice.
// A worker found dead (cluster-workers.ts) has its runs recovered as a crashed Wharf's are.

import { randomUUID } from 'node:crypto'
import type { ChannelConfig } from '../core/channel-config.js'
import type { State } from '../core/state.js'
import { workerIdOf } from '../core/workers.js'
import type { WharfEvent } from '../core/events.js'
import { LogCorruptionError, SchedulerDeposedError, StorageError } from '../errors.js'
import { PgClusterTables, type InboxRow, type MemberRow, type MemberState } from '../../storage/pg-cluster.js'
import { READ_CHUNK, type PgLog } from '../../storage/pg-log.js'
import { replyChannel, sendNotices } from '../../storage/pg-channels.js'
import { encodeAnswer, NO_RESULT_NAME, type ResultTable } from './cluster-wire.js'
import type { Engine, Remote } from './engine.js'
import { InboxApplier } from './inbox-applier.js'
import { findsRowsDead, poolSignature, sparedWorkers, workerPool, workOf, type Members, type Self } from './cluster-workers.js'
import { InboxClient } from './inbox-client.js'
import { Replica } from './replica.js'
import { replay } from './replay.js'
import type { ResultOf } from './submissions.js'
import type { Warn } from './warnings.js'
import { Coalesced } from './coalesced.js'
import { ClusterChannels } from './cluster-channels.js'
import { OutageWarnings } from './cluster-outage.js'

/** Every member writes its row this often; the scheduler checks its lease as often. */
export const HEARTBEAT_MS = 1000
/** A follower tries the lease this often (a scheduler killed without a word is found so). */
export const ELECTION_POLL_MS = 250
/** Inbox, replies and log are also read this often, in case a notification was lost. */
export const POLL_MS = 1000
/** A member whose row is older than this is gone (its row is deleted). */
export const MEMBER_ALIVE_MS = 10 * HEARTBEAT_MS
/** Tries of a closing member's leave (Cluster.leaveTable). */
const LEAVE_TRIES = 2
/** Replies to a node not seen for this long are deleted by the scheduler (nobody will read them). */
export const REPLY_KEPT_MS = 300 * HEARTBEAT_MS

/** A failure after waiting the whole connect_timeout for a connection (the driver's code). */
function connectTimedOut(error: unknown): boolean {
  const code = (error instanceof StorageError ? error.cause : error) as { code?: unknown } | undefined
  return code?.code === 'CONNECT_TIMEOUT'
}

export type ClusterRole = MemberRow['role']

/** A member of the cluster, as its last heartbeat (every second) said. */
export interface ClusterNode {
  node: string
  /** When its heartbeat was last seen (ms since the epoch, by this process's clock: its age as the
   * server measured it, from this process's read). */
  lastSeenMs: number
  /** Handlers it was running then. */
  running: number
  role: MemberRow['role']
  term: number
  /** It takes work: it called start() (and is not stopping). A member that only enqueues (a web
   * process) or stopped runs nothing, whatever its role. */
  started: boolean
  /** Handlers it runs at once (its `workers` option); null: unlimited. */
  workers: number | null
}

/** wharf.cluster(): this process, the scheduler, and the members alive. */
export interface ClusterView {
  /** This process's name in the cluster. */
  node: string
  /** The node of the scheduler of the current term, when its heartbeat is recent and its session
   * alive; else null (during a takeover). */
  leader: string | null
  /** Members alive, by node: a heartbeat under MEMBER_ALIVE_MS old and their session still on
   * (a killed process is gone at once); this process not once closed. */
  nodes: ClusterNode[]
  /** This process's role now ('closed' once this Wharf closed or was deposed). */
  role: ClusterRole | 'closed'
  /** The current term: it grows by one with each scheduler that takes over. */
  term: number
}

/** A follower's replay of the snapshot is tried this many times (see followerReplay). */
const FOLLOWER_REPLAY_TRIES = 3

/**
 * A follower's state from the snapshot and the log after it, read as they are now (followEnds).
 * The scheduler may snapshot or compact between those reads, which then disagree (a snapshot
 * past the log's end, a gap after it): read again; a disagreement that stays is corruption.
 */
async function followerReplay(log: PgLog, channels: () => readonly ChannelConfig[]): Promise<State> {
  for (let tries = 1; ; tries++) {
    await log.followEnds() // the configuration published too
    try {
      return (await replay(log, channels())).state
    } catch (error) {
      if (!(error instanceof LogCorruptionError) || tries >= FOLLOWER_REPLAY_TRIES) throw error
    }
  }
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
  /** The scheduler's LISTEN on the inbox's channel. */
  private unlistenInbox: (() => Promise<void>) | null = null
  /** The LISTEN on this open's reply channel. */
  private unlistenReplies: (() => Promise<void>) | null = null
  private electing = false
  /** This takeover put a configuration of its own in place (ClusterChannels.lead): it snapshots
   * once promoted (kept across a takeover resumed after a failure). */
  private channelsChanged = false
  /** The members and term the last heartbeat read, and when (view() answers from them). */
  private known: { members: MemberState[]; left: string[]; term: number; readAtMs: number } = { members: [], left: [], term: 0, readAtMs: 0 }
  private beats = 0
  /** Reads of the member table asked for, and the latest whose answer was taken (readMembers). */
  private membersAsked = 0
  private membersRead = 0
  private halted = false
  /** This open's worker id (also the address its replies come to). */
  private readonly worker: string
  /** The work last announced in the member row (a change is NOTIFYed). */
  private announced = ''
  /** The pool last given to the engine (a scheduler ticks again when it changes). */
  private pooled = ''
  private recovering = false
  /** Some heartbeat announced that this member takes work: the scheduler may give it runs. */
  private tookWork = false
  /** Heartbeats never overlap: one asked for while one runs is made once after it. */
  private readonly beating = new Coalesced(() => this.beat(), () => this.halted)
  /** Another process took this one's node name while its session was cut (warned once). */
  private nameTaken = false
  /** stop()'s leave, once asked for. */
  private stopping: Promise<void> | null = null
  /** The cluster's channel configuration on this member (the scheduler's). */
  private readonly channels: ClusterChannels
  /** The snapshot a change of configuration asked for (ClusterChannels.lead): leave() waits for
   * it, so that the log does not close under it. */
  private snapshotting: Promise<void> | null = null
  /** The loops' failures while the server is away: warned when it starts, ends, once a minute. */
  private readonly outage: OutageWarnings

  constructor(
    private readonly log: PgLog,
    readonly node: string,
    private readonly results: ResultTable,
    channels: readonly ChannelConfig[],
    private readonly warn: Warn,
    /** Handlers this process runs at once (the `workers` option); null: unlimited. */
    private readonly slots: number | null = null,
  ) {
    this.tables = new PgClusterTables(log.schema, log.channel)
    this.outage = new OutageWarnings((message) => warn(`wharf: cluster member ${node}: ${message}`, 'WHARF_CLUSTER'))
    const clusterChannels = (this.channels = new ClusterChannels(channels, node, log.campaigns, (message) => warn(message, 'WHARF_CLUSTER_CHANNELS')))
    this.names = new Map([...results].map(([name, result]) => [result, name]))
    // Replies are addressed to this open of this process, not to its node name: two processes
    // given the same name by mistake (or a restart reusing it) never collect each other's.
    const address = (this.worker = workerIdOf(node, randomUUID()))
    this.client = new InboxClient({
      post: (calls) => this.tables.post(log.pool, address, calls),
      missing: (calls) => this.tables.missing(log.pool, address, calls),
      collect: () => this.tables.collect(log.pool, address),
      reached: (seq) => this.replica.reached(seq),
      head: () => log.headSeq(),
      nameOf: (result) => this.nameOf(result),
      settled: () => this.engine?.remoteSettled(),
    })
    const self = this
    this.replica = new Replica({
      tail: (seq) => log.readTail(seq),
      tailMax: READ_CHUNK,
      caughtUp: () => log.history.refresh(),
      replay: async () => {
        const state = await followerReplay(log, () => clusterChannels.forState(log.published))
        clusterChannels.rebuilt(log.published)
        return state
      },
      get engine() {
        return self.requireEngine()
      },
      pause: () => new Promise((resolve) => setTimeout(resolve, 20)),
    })
  }

  /** EngineOptions.remote: a follower's engine sends its calls to the inbox. */
  readonly remote = (): Remote | null => (this.log.role === 'follower' ? this.client : null)

  /** EngineOptions.stateChannels: the configuration of the current term's scheduler (for one that
   * opens as the scheduler, of the term before its own: Engine.open puts its own in place). */
  readonly stateChannels = (): readonly ChannelConfig[] => this.channels.forState(this.log.role === 'scheduler' ? this.log.replacedChannels : this.log.published)

  /** EngineOptions.liveWorkers: the workers whose runs a scheduler's recovery spares. */
  readonly liveWorkers = async (): Promise<readonly string[]> => {
    return (await this.confirmedSpared(await this.tables.members(this.log.pool, MEMBER_ALIVE_MS))).spared
  }

  /**
   * The workers a recovery spares, judged from `first` and, when it finds a member dead whose row
   * it shows, from a second read too (findsRowsDead): only a worker both find dead is recovered.
   * Without it, a member's clean leave seen half way counted as its death, and the runs it had
   * been given but never launched were recovered as a dead worker's — their try counted — instead
   * of refused for it (seen in CI, under load). A member that died between the two reads is found
   * dead by the next heartbeat's. `again`: the second read, when one was made.
   */
  private async confirmedSpared(first: Members): Promise<{ spared: string[]; again: Members | null }> {
    const spared = sparedWorkers(first, this.self())
    if (!findsRowsDead(first, this.self())) return { spared, again: null }
    const again = await this.tables.members(this.log.pool, MEMBER_ALIVE_MS)
    return { spared: [...new Set([...spared, ...sparedWorkers(again, this.self())])], again }
  }

  /** The engine is open: listen, catch up (follower) or apply the inbox (scheduler), heartbeat. */
  async attach(engine: Engine): Promise<void> {
    this.engine = engine
    engine.joinCluster(this.worker, () => this.workChanged())
    engine.onClosed((why) => {
      this.halt()
      if (why instanceof SchedulerDeposedError) this.lastLook()
    })
    const listening = this.log.pool.listen(this.log.channel, (payload) => this.onNotify(payload))
    const replies = this.log.pool.listen(replyChannel(this.log.schema, this.worker), (payload) => {
      if (!this.halted) this.onReply(payload)
    })
    await Promise.all([listening, replies, this.heartbeat()])
    this.unlisten = await listening
    this.unlistenReplies = await replies
    if (this.log.role === 'scheduler') {
      if (this.channels.lead(this.log.replacedChannels, engine, engine.state.seq)) this.snapshotChanged(engine)
      this.lead()
    } else {
      this.channels.rebuilt(this.log.published)
      await this.replica.catchUp() // what was committed between the replay and LISTEN
      // The counts as of where the replica is now (or later): it counts each batch after them.
      await this.log.history.load()
    }
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
    // A member whose session is gone (a SIGKILLed process, a deposed scheduler) is dead by the rule
    // the scheduler recovers runs by (cluster-workers.ts), though its row is fresh for
    // MEMBER_ALIVE_MS more: listed, it looked alive, running handlers that no longer run.
    // Nor one whose heartbeat is MEMBER_ALIVE_MS old by now: this process's reads failing (the
    // server away), its last one ages, and would name members and a leader long dead. This process
    // once closed (deposed) is no member either, whatever its last read said of it.
    const { readAtMs } = this.known
    const sinceRead = Date.now() - readAtMs
    const alive = this.known.members.filter((m) => m.locked && m.ageMs + sinceRead < MEMBER_ALIVE_MS && !(role === 'closed' && m.node === this.node))
    const nodes = alive.map(({ node, ageMs, running, role, term, work }) => ({ node, lastSeenMs: readAtMs - ageMs, running, role, term, started: work?.functions != null, workers: work?.workers ?? null }))
    // Nor is such a scheduler the leader: a call sent to it now waits for a takeover. This process
    // is the leader only while it schedules: its own row, read before it was deposed, says nothing.
    const leader = role === 'scheduler' ? this.node : (alive.find((m) => m.role === 'scheduler' && m.term === term && m.node !== this.node)?.node ?? null)
    return { node: this.node, leader, nodes, role, term }
  }

  /**
   * Before settled(), idle() or drain() judge (cluster-quiet.ts): the state as of the scheduler's
   * last commit at least (a follower's replica trails it by a notification), and the members as
   * they are now, not as the last heartbeat read them (up to HEARTBEAT_MS ago): a job started just
   * before the call, on a member that joined since, is waited for, and so is a job pending that
   * such a member can run. Nothing on the scheduler: its state is the log's, and its settled()
   * waits for its own ticks only (a pool that changes ticks again), as an embedded one's does.
   */
  async caughtUp(): Promise<void> {
    if (this.halted || !this.requireEngine().following) return
    try {
      await Promise.all([this.readMembers(), this.log.headSeq().then((seq) => this.replica.reached(seq))])
    } catch (error) {
      if (!this.halted) throw error // (closed meanwhile: the wait judges a closed engine)
    }
  }

  /** Wharf.close(): stop the loops and leave the member table (the log closes after this). Every
   * call waits for the one leave: a second close() (one giving up on handlers the first waits for)
   * must not close the log while the first one's leave is under way. */
  stop(): Promise<void> {
    this.stopping ??= this.leave()
    return this.stopping
  }

  private async leave(): Promise<void> {
    if (this.halted) return
    this.halt()
    // A heartbeat under way (close() stops the engine first, which announces it) would write the
    // row again after the leave deleted it: let it end first.
    await this.beating.current?.catch(() => undefined)
    await this.snapshotting
    // A stop() that ran to its end (no handler abandoned, the engine not failed) leaves every run
    // this member launched ended, its outcome committed: a run the scheduler still gives it — one
    // it assigned before it read the row saying this member stopped, which the member then never
    // saw — was never launched, and the mark left says so: the scheduler refuses it for this
    // member (not a try) instead of recovering it as a dead worker's (a try). A member that never
    // announced work was never given a run.
    const cleanly = this.tookWork && this.engine?.launchedRunsEnded === true ? this.worker : null
    await this.leaveTable(cleanly)
  }

  /** Delete this member's row (and mark a clean leave), tried twice: a row left behind makes the
   * scheduler find this member dead once its lock goes with close(), and recover the runs it gave
   * it and it never launched as a dead worker's (their tries counted) instead of refusing them.
   * (A pooled connection the server dropped fails once, and the next try gets a new one; a server
   * that does not answer within connect_timeout is not waited for twice.) */
  private async leaveTable(cleanly: string | null): Promise<void> {
    let failure: unknown
    for (let tries = 0; tries < LEAVE_TRIES && !connectTimedOut(failure); tries++) {
      try {
        return await this.tables.leave(this.log.pool, this.node, cleanly)
      } catch (error) {
        failure = error
      }
    }
    this.warn(
      `wharf: cluster member ${this.node}: could not leave the member table (${failure instanceof Error ? failure.message : String(failure)}); ` +
        `the scheduler finds it dead once it has closed, and counts a try of any job it had given it`,
      'WHARF_CLUSTER',
    )
  }

  private halt(): void {
    this.halted = true
    for (const timer of this.timers.splice(0)) clearInterval(timer)
    this.applier?.stop()
    for (const unlisten of [this.unlisten, this.unlistenInbox, this.unlistenReplies]) void unlisten?.().catch(() => undefined)
    this.unlisten = this.unlistenInbox = this.unlistenReplies = null
  }

  /** Deposed: the members and term read once more, so that cluster() (which still answers until
   * close()) names the scheduler that took over and its term, not those before the takeover. */
  private lastLook(): void {
    const read = async (): Promise<void> => {
      const { members, left, term } = await this.tables.members(this.log.pool, MEMBER_ALIVE_MS)
      this.known = { members, left, term, readAtMs: Date.now() }
    }
    // (The server is away, or close() closed the log: the last heartbeat's read stays.)
    read().catch(() => undefined)
  }

  private onNotify(payload: string): void {
    if (this.halted) return
    const kind = payload.split(' ', 1)[0]
    if (kind === 'log' && this.engine?.following === true) this.background(this.followNotified(payload))
    // (Posts NOTIFY the inbox's channel: a post on this one is from a member of an older version.)
    else if (kind === 'inbox' && this.applier !== null) this.background(this.applier.poke())
    // (The scheduler's own appends: their notices follow those of the posts it applied.)
    else if (kind === 'log' && this.applier !== null) this.applier.logNoticed(Number(payload.split(' ', 2)[1]))
    else if (kind === 'reply') this.onReply(payload) // (from a scheduler of an older version: replies come on this open's channel)
    else if (kind === 'leave') this.background(this.elect())
    else if (kind === 'member' && this.role === 'scheduler') this.background(this.readMembers())
    // A new term's scheduler published its channel configuration: a follower adopts it now.
    else if (kind === 'channels' && this.engine?.following === true) this.background(this.readMembers())
  }

  /** Replies committed: from the notification if it carried this member's, else from the rows. */
  private onReply(payload: string): void {
    if (payload === 'reply') return this.background(this.client.collect())
    try {
      const replies = PgClusterTables.noticedReplies(payload, this.worker)
      if (replies !== null) this.client.noticed(replies)
    } catch (error) {
      this.warn(`wharf: cluster member ${this.node}: a notification's replies could not be read, collected from their rows instead: ${error instanceof Error ? error.message : String(error)}`, 'WHARF_CLUSTER')
      this.background(this.client.collect())
    }
  }

  /** A batch committed: from the notification if it carried it, else from the log. */
  private followNotified(payload: string): Promise<void> {
    let batch: readonly WharfEvent[] | null
    try {
      batch = this.log.notifiedBatch(payload)
    } catch (error) {
      // The log holds the same batch: its read reports a corrupt record as a replay would.
      this.warn(`wharf: cluster member ${this.node}: a notification's batch could not be decoded, read from the log instead: ${error instanceof Error ? error.message : String(error)}`, 'WHARF_CLUSTER')
      batch = null
    }
    return batch === null ? this.replica.catchUp() : this.replica.offer(batch)
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
      lastSeq: () => log.lastCommittedSeq,
      results: this.results,
      warn: (message) => this.warn(message, 'WHARF_CLUSTER'),
    }))
    log.stageWithAppend = applier.stage
    this.background(this.listenInbox(applier))
  }

  /** Posts wake the scheduler through the inbox's own channel (PgClusterTables.inboxChannel),
   * carrying their calls when they are small enough; the inbox is read once LISTEN is on, so that
   * no post committed before it waits for the poll. */
  private async listenInbox(applier: InboxApplier): Promise<void> {
    const unlisten = await this.log.pool.listen(this.tables.inboxChannel, (payload) => {
      if (this.halted) return
      let rows: InboxRow[] | null
      try {
        rows = PgClusterTables.noticedCalls(payload)
      } catch (error) {
        this.warn(`wharf: cluster member ${this.node}: a notification's calls could not be read, taken from their rows instead: ${error instanceof Error ? error.message : String(error)}`, 'WHARF_CLUSTER')
        rows = null
      }
      if (rows === null) this.background(applier.poke())
      else applier.noticed(rows)
    })
    if (this.halted) return void (await unlisten().catch(() => undefined))
    this.unlistenInbox = unlisten
    await applier.poke()
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
      // A takeover that failed half way (the server away) is resumed by the next round: the lease
      // and the term are held already (tryLead() answers true at once), and the inbox is applied
      // already — a second applier beside the first would take each call too, and apply it twice.
      if (this.applier === null) {
        this.channelsChanged = this.channels.lead(this.log.replacedChannels, engine, engine.state.seq)
        this.lead()
      }
      // Its workers before its first decision: the recovery spares the live ones' runs, and what
      // it may start right after goes to them (not to nobody until the next heartbeat).
      this.known = { ...(await this.tables.members(this.log.pool, MEMBER_ALIVE_MS)), readAtMs: Date.now() }
      this.updatePool()
      await engine.promote((await this.confirmedSpared(this.known)).spared)
      if (this.channelsChanged) this.snapshotChanged(engine)
      this.channelsChanged = false
      await this.heartbeat()
    } finally {
      this.electing = false
    }
  }

  /** The state under a new configuration, snapshotted at once (see ClusterChannels.lead). */
  private snapshotChanged(engine: Engine): void {
    if (this.halted) return
    const snapshot = engine.snapshotNow()
    this.snapshotting = snapshot.catch(() => undefined)
    this.background(snapshot)
  }

  private heartbeat(): Promise<void> {
    return this.beating.run()
  }

  private async beat(): Promise<void> {
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
    // The lock first: a row is never read as alive without it.
    const named = await this.log.holdMemberLocks(this.worker)
    if (!named && !this.nameTaken) {
      this.warn(`wharf: cluster member ${this.node}: another process opened under the node name ${JSON.stringify(this.node)} while this one's connection was cut; both write one member row now: close one of them`, 'WHARF_CLUSTER')
    }
    this.nameTaken = !named
    const work = workOf(this.self())
    if (work.functions !== null) this.tookWork = true
    const announced = JSON.stringify(work)
    await this.tables.heartbeat(this.log.pool, this.node, role, this.log.term, engine.runningHandlers, work, announced !== this.announced)
    this.announced = announced
    await this.readMembers()
    this.outage.reached()
    if (role === 'scheduler' && ++this.beats % 60 === 0) await this.tables.sweep(this.log.pool, REPLY_KEPT_MS)
  }

  /** Read the members and update the workers; a scheduler then recovers the runs of the dead. */
  private async readMembers(): Promise<void> {
    // Reads overlap (heartbeat, notifications, waits) on several connections: one that answers
    // after a later one is dropped, so that what a wait read is not replaced by an older list.
    const read = ++this.membersAsked
    const { members, left, term, published } = await this.tables.members(this.log.pool, MEMBER_ALIVE_MS)
    if (read < this.membersRead) return
    this.membersRead = read
    this.known = { members, left, term, readAtMs: Date.now() }
    this.updatePool()
    const engine = this.requireEngine()
    // (A follower that just took the lease publishes its own: elect() puts it in place.)
    if (engine.following && this.log.role === 'follower' && !this.halted) this.channels.follow(published, engine)
    if (this.role !== 'scheduler') return
    // (Before any recovery: it spares them. The pool no longer has them: nothing starts there now.)
    if (left.length > 0) engine.refuseRunsOf(left)
    const dead = (spared: readonly string[]): boolean => [...engine.state.runsOn.keys()].some((worker) => !spared.includes(worker))
    if (this.recovering || !dead(sparedWorkers(this.known, this.self()))) return
    this.recovering = true
    try {
      const { spared, again } = await this.confirmedSpared(this.known)
      if (again !== null && again.left.length > 0) engine.refuseRunsOf(again.left)
      if (!dead(spared)) return
      const { requeued, foundDead } = await engine.recoverWorkers(spared)
      this.warn(`wharf: cluster member ${this.node}: recovered ${requeued + foundDead} job(s) of workers found dead (${foundDead} failed as found dead)`, 'WHARF_CLUSTER')
    } finally {
      this.recovering = false
    }
  }

  /** The workers: the live members' announced work, and this one's as it is now (a scheduler
   * assigns starts to them; every member's explain() judges by them). */
  private updatePool(): void {
    const pool = workerPool(this.known, this.self())
    const signature = poolSignature(pool)
    if (signature === this.pooled) return
    this.pooled = signature
    this.requireEngine().setWorkers(pool)
  }

  /** The engine started, stopped or registered a model: its own place in the pool changes at
   * once; the row (and the scheduler, for a follower) learn at once too. */
  private workChanged(): void {
    if (this.halted || this.engine === null) return
    this.updatePool()
    this.background(this.heartbeat())
  }

  private self(): Self {
    const engine = this.engine
    const taking = engine !== null && engine.lifecycle === 'running'
    return { worker: this.worker, taking, functions: engine?.registeredFunctions ?? new Map(), slots: this.slots }
  }

  private async poll(): Promise<void> {
    this.engine?.repostOutcomes()
    if (this.engine?.following === true) await this.replica.catchUp()
    await this.applier?.poke()
    await this.client.findLost()
  }

  private async refuse(row: InboxRow, error: unknown): Promise<void> {
    const body = encodeAnswer({ ok: false, error })
    await this.log.pool.transaction((tx) => {
      const { statements, notices } = this.tables.stageReplies(tx, [{ id: row.id, node: row.node, token: row.token, body }], 0)
      return Promise.all([...statements, sendNotices(tx, notices)])
    })
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

  /** Loops never throw: a failure is warned, and the next round tries again. (The server away
   * fails every round of every loop: that is one outage, warned as one.) */
  private background(work: Promise<void>): void {
    work.catch((error: unknown) => {
      if (this.halted) return
      if (this.log.unreachable(error)) this.outage.failed(error)
      else this.warn(`wharf: cluster member ${this.node}: ${error instanceof Error ? error.message : String(error)}`, 'WHARF_CLUSTER')
    })
  }

  private requireEngine(): Engine {
    if (this.engine === null) throw new Error('the cluster has no engine yet')
    return this.engine
  }
}
