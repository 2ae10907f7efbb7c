// Test helpers for what a cluster member knows of the others (real PostgreSQL server): stop its
// heartbeat so that its member list stays as its last heartbeat read it, hold its reads of the
// member table at a gate, or have it write its row now.
import { onTestFinished } from 'vitest'
import type { Wharf } from '../../src/index.js'
import type { PgClusterTables } from '../../src/storage/pg-cluster.js'
import { gate } from '../unit/helpers.js'

interface ClusterInsides {
  clusterMember: {
    timers: NodeJS.Timeout[]
    tables: PgClusterTables
    beating: { readonly current: Promise<void> | null }
    heartbeat(): Promise<void>
  }
}

function insides(wharf: Wharf): ClusterInsides['clusterMember'] {
  return (wharf as unknown as ClusterInsides).clusterMember
}

/** Stop `wharf`'s loops (heartbeat, polls, election): from now on it knows the members its last
 * heartbeat read, and reads the member table only when something else asks it to. Resolves once
 * the heartbeat under way, if any, has ended. */
export async function stopHeartbeats(wharf: Wharf): Promise<void> {
  const member = insides(wharf)
  for (const timer of member.timers.splice(0)) clearInterval(timer)
  await member.beating.current
}

/** `wharf`'s reads of the member table wait at a gate until release() (or the test's end, so that
 * its close does not wait for a heartbeat held there): it learns of no member that joined or left
 * meanwhile (a scheduler starts nothing on one that joined). */
export function holdMemberReads(wharf: Wharf): { release(): void } {
  const tables = insides(wharf).tables
  const members = tables.members.bind(tables)
  const held = gate()
  tables.members = async (...args) => {
    await held.wait
    return members(...args)
  }
  const release = (): void => {
    tables.members = members
    held.open()
  }
  onTestFinished(release)
  return { release }
}

/** Resolves once `wharf` has written its member row as it is now (its work announced). */
export function heartbeatNow(wharf: Wharf): Promise<void> {
  return insides(wharf).heartbeat()
}

/**
 * Make `wharf`'s next read of the member table straddle `node`'s leave, as PostgreSQL can: rows
 * read under the statement's snapshot, before the leave deleted `node`'s row, but `node`'s lock as
 * pg_locks shows it once `node` closed (free). Resolves once those rows are read (the read is made
 * at once, by a heartbeat); the read, and every one after it, answers only after left() — call it
 * once `node` has closed.
 */
export async function straddleLeave(wharf: Wharf, node: string): Promise<{ left(): void }> {
  const member = insides(wharf)
  const tables = member.tables
  const members = tables.members.bind(tables)
  const closed = gate()
  const captured = gate()
  let first = true
  tables.members = async (...args) => {
    if (!first) {
      await closed.wait
      return members(...args)
    }
    first = false
    const before = await members(...args)
    captured.open()
    await closed.wait
    return { ...before, members: before.members.map((m) => (m.node === node ? { ...m, locked: false } : m)) }
  }
  const left = (): void => {
    tables.members = members
    closed.open()
  }
  onTestFinished(left)
  void member.heartbeat()
  await captured.wait
  return { left }
}
