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
