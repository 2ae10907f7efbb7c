// --postgres: the CLI's client over a cluster on PostgreSQL (app processes sharing one schema).
// It joins as a member that never takes the lease (NEVER_SCHEDULER), so a CLI run can never
// become the scheduler of the app's jobs, even when it finds the lease free: reads are answered
// from its replica of the committed state, actions go through the inbox to the scheduler, which
// applies them in its ticks. Never started and with no handler, it runs nothing; close() leaves
// the cluster. As with --path, the open changes nothing else (no vacuum, no snapshot).

import { hostname } from 'node:os'
import { Wharf } from '../engine/api/wharf.js'
import { NEVER_SCHEDULER } from '../engine/api/open-options.js'
import type { RemovableState } from '../engine/core/commands.js'
import { connect, redactedUrl } from '../storage/pg-driver.js'
import { schemaIdent, schemaProblem } from '../storage/pg-schema.js'
import { UsageError } from './args.js'
import { Refusal, type Action, type ActionResult } from './client.js'
import { CLI_CHANNELS, KEEP_FOREVER_DAYS, LocalClient } from './local-client.js'
import type { DashboardServer, ServeOptions } from '../dashboard/serve.js'
import { ACTION_GUARD } from '../dashboard/options.js'
import { HttpError } from '../dashboard/http-error.js'

const SCHEMA_DEFAULT = 'wharf'

/** ClusterClient.join()s so far in this process. */
let joins = 0

/** An action unanswered this long makes the CLI say what it waits for (stderr). */
export const SCHEDULER_WAIT_NOTE_MS = 5000

export interface JoinOptions {
  /** Where to say what an action waits for, when the scheduler is slow to answer (null: nowhere). */
  note?: ((line: string) => void) | null
  /** After how long (default SCHEDULER_WAIT_NOTE_MS). */
  noteAfterMs?: number
}

export class ClusterClient extends LocalClient {
  private constructor(
    wharf: Wharf,
    private readonly schema: string,
    private readonly options: JoinOptions,
  ) {
    super(wharf)
  }

  /** Join the cluster of `schema` on `url`, which must hold Wharf's tables already. */
  static async join(url: string, schema = SCHEMA_DEFAULT, options: JoinOptions = {}): Promise<ClusterClient> {
    const problem = schemaProblem(schema)
    if (problem !== null) throw new UsageError(`--schema ${problem}, got ${JSON.stringify(schema)}`)
    await checkClusterSchema(url, schema)
    // A node name is one live process's (NodeNameInUseError): the second join of one process (a
    // program driving the CLI in-process) takes a name of its own.
    const node = `wharf-cli:${hostname()}:${process.pid}${++joins > 1 ? `.${joins}` : ''}`
    const opening = { postgres: url, schema, node, channels: CLI_CHANNELS, removeAfterDays: KEEP_FOREVER_DAYS, snapshotEvery: 0 }
    return new ClusterClient(await Wharf.open({ ...opening, [NEVER_SCHEDULER]: true }), schema, options)
  }

  override async act(action: Action, uuids: readonly string[]): Promise<ActionResult[]> {
    this.requireScheduler(action)
    return this.applied(action, super.act(action, uuids))
  }

  override async remove(uuids: readonly string[]): Promise<{ removed: number }> {
    this.requireScheduler('remove')
    return this.applied('remove', super.remove(uuids))
  }

  override async purge(state: RemovableState, before: Date | undefined): Promise<{ removed: number }> {
    this.requireScheduler('purge')
    return this.applied('purge', super.purge(state, before))
  }

  /** `call`, sent to the scheduler: unanswered after noteAfterMs, the CLI says what it waits for
   * rather than hang silently (the scheduler died after the call was sent, or is stuck). */
  private async applied<T>(what: string, call: Promise<T>): Promise<T> {
    const note = this.options.note ?? null
    if (note === null) return call
    const afterMs = this.options.noteAfterMs ?? SCHEDULER_WAIT_NOTE_MS
    const timer = setTimeout(() => note(this.waitingNote(what, afterMs)), afterMs)
    try {
      return await call
    } finally {
      clearTimeout(timer)
    }
  }

  private waitingNote(what: string, afterMs: number): string {
    const view = this.wharf.cluster()
    const leader = view.nodes.find((n) => n.node === view.leader)
    const who =
      leader === undefined ? 'a scheduler: none is alive now (no member holds the lease)'
      : `the scheduler, node ${JSON.stringify(leader.node)} (its last heartbeat ${Math.max(0, (Date.now() - leader.lastSeenMs) / 1000).toFixed(1)} s ago)`
    return (
      `wharf ${what}: no answer after ${(afterMs / 1000).toFixed(0)} s; waiting for ${who}. The call waits in the inbox of schema ${JSON.stringify(this.schema)}: ` +
      'the scheduler applies it, or the next one does if it died. Ctrl-C stops waiting (the call may still be applied).'
    )
  }

  /** Its actions are refused as the commands' are while no scheduler is alive: nothing here would
   * ever apply them, and a page that waits for ever says nothing (503, code NO_SCHEDULER). */
  override serveDashboard(options: ServeOptions): Promise<DashboardServer> {
    const guard = (): void => {
      const message = this.noSchedulerMessage('the action')
      if (message !== null) throw new HttpError(503, 'NO_SCHEDULER', message)
    }
    return this.wharf.serveDashboard({ ...options, [ACTION_GUARD]: guard })
  }

  /** A call sent with no scheduler alive would wait in the inbox until one comes: refuse it now. */
  private requireScheduler(what: string): void {
    const message = this.noSchedulerMessage(what)
    if (message !== null) throw new Refusal({ name: 'ClusterError', code: 'NO_SCHEDULER', message })
  }

  /** Why `what` cannot be applied now (null: a scheduler is alive). */
  private noSchedulerMessage(what: string): string | null {
    if (this.wharf.cluster().leader !== null) return null
    return `no scheduler in the cluster of schema ${JSON.stringify(this.schema)} (no member holds its lease): ${what} is applied by the scheduler, and this command never becomes it; start the app, then try again`
  }
}

/** Refuse a schema without Wharf's tables before joining, which would create them. */
async function checkClusterSchema(url: string, schema: string): Promise<void> {
  const pool = await connect(url)
  try {
    const { rows } = await pool.query('SELECT to_regclass($1) IS NOT NULL AS found', [`${schemaIdent(schema)}.meta`])
    if (rows[0]?.found === true) return
    throw new Refusal({
      name: 'StorageError',
      code: 'STORAGE',
      message: `no Wharf cluster in schema ${JSON.stringify(schema)} of ${redactedUrl(url)}: it holds no Wharf tables (the wharf command never creates them; is --schema right?)`,
    })
  } finally {
    await pool.end()
  }
}
