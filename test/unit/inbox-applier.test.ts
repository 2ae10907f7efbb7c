// Proves that the scheduler applies each inbox row once, whichever ways it comes (InboxApplier,
// inbox-guard.ts), with plain fakes for the tables and the engine (no server): a row carried by its
// post's notification and also returned by a take is submitted once, in either order; a take that
// returns a row applied and committed while it ran does not apply it again; a notification handled
// after its row was applied and committed is dropped until the scheduler's next append's notice,
// which PostgreSQL delivers after it; a row whose tick was lost is taken and applied again.
import { describe, expect, it } from 'vitest'
import type { Command } from '../../src/engine/core/commands.js'
import { encodeCall, NO_RESULT_NAME } from '../../src/engine/runtime/cluster-wire.js'
import { InboxApplier } from '../../src/engine/runtime/inbox-applier.js'
import type { InboxRow } from '../../src/storage/pg-cluster.js'

const row = (id: number): InboxRow => ({ id, node: 'n#1', token: id, body: encodeCall({ command: { type: 'cancel', uuid: `u${id}` } as Command, result: NO_RESULT_NAME }) })

/** An applier whose takes wait until released, and whose submissions settle when told. */
function fakeApplier() {
  const submitted: string[] = []
  const pending = new Map<string, { resolve: () => void; reject: (error: unknown) => void }>()
  let inbox: InboxRow[] = []
  let releaseTake: (() => void) | null = null
  let lastSeq = 10
  const applier = new InboxApplier({
    take: async (taken) => {
      const rows = inbox.filter((r) => !taken.includes(r.id)) // as the take's snapshot has them
      await new Promise<void>((resolve) => (releaseTake = resolve))
      return rows
    },
    submit: (command) => {
      const uuid = (command as { uuid: string }).uuid
      submitted.push(uuid)
      return new Promise<void>((resolve, reject) => pending.set(uuid, { resolve, reject }))
    },
    refuse: async () => undefined,
    stage: () => ({ statements: [], notices: [] }),
    writeAlone: async () => undefined,
    lastSeq: () => lastSeq,
    results: new Map(),
    warn: (message) => {
      throw new Error(message)
    },
  })
  const turn = () => new Promise((resolve) => setImmediate(resolve))
  return {
    applier,
    submitted,
    /** The rows a take's snapshot sees from now on. */
    inbox: (rows: InboxRow[]) => (inbox = rows),
    /** Commit (or lose) the tick that applied `uuid`; the log then ends at `seq`. */
    settle: async (uuid: string, seq: number, lost = false) => {
      lastSeq = seq
      if (lost) pending.get(uuid)!.reject(new Error('lost'))
      else pending.get(uuid)!.resolve()
      await turn()
    },
    /** Let the take under way return what its snapshot saw. */
    releaseTake: async () => {
      releaseTake!()
      await turn()
    },
    turn,
  }
}

describe('InboxApplier: a row carried by its notification and read by a take', () => {
  it('applies it once when the notification comes while the take that reads it runs', async () => {
    const { applier, submitted, inbox, releaseTake } = fakeApplier()
    inbox([row(1)])
    const taking = applier.poke()
    applier.noticed([row(1)])
    await releaseTake()
    await taking
    expect(submitted).toEqual(['u1'])
  })

  it('applies it once when the take reads it first and its notification comes after', async () => {
    const { applier, submitted, inbox, releaseTake } = fakeApplier()
    inbox([row(1)])
    const taking = applier.poke()
    await releaseTake()
    await taking
    applier.noticed([row(1)])
    expect(submitted).toEqual(['u1'])
  })

  it('does not apply again a row committed while a take ran whose snapshot still had it', async () => {
    const { applier, submitted, inbox, settle, releaseTake } = fakeApplier()
    inbox([row(1), row(2)])
    const taking = applier.poke()
    applier.noticed([row(1)])
    await settle('u1', 11) // committed: its row is deleted, but the take's snapshot is older
    inbox([row(2)])
    await releaseTake()
    await taking
    expect(submitted).toEqual(['u1', 'u2'])
  })

  it("drops a notification handled after its row was committed, until an append's notice past the log's end then says none can come", async () => {
    const { applier, submitted, inbox, settle, releaseTake } = fakeApplier()
    inbox([row(1)])
    const taking = applier.poke()
    await releaseTake()
    await taking
    await settle('u1', 11)
    inbox([])
    applier.logNoticed(11) // the append that applied it: not past the log's end when it settled
    applier.noticed([row(1)])
    expect(submitted).toEqual(['u1'])
    applier.logNoticed(12)
    applier.noticed([row(3)]) // (a later post is applied as it comes)
    expect(submitted).toEqual(['u1', 'u3'])
  })

  it('takes and applies again a row whose tick was lost (its delete was not committed)', async () => {
    const { applier, submitted, inbox, settle, releaseTake } = fakeApplier()
    inbox([row(1)])
    applier.noticed([row(1)])
    await settle('u1', 10, true)
    applier.noticed([row(1)]) // a late copy of the notification: left to the take
    expect(submitted).toEqual(['u1'])
    const taking = applier.poke()
    await releaseTake()
    await taking
    expect(submitted).toEqual(['u1', 'u1'])
  })
})
