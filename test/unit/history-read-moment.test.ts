// Proves a read of finished jobs on LevelDB answers from one moment while the engine goes on
// writing. A history page reads an index's keys, then the views they name, in two LevelDB calls;
// a batch committed between the two (a requeue or purge taking a finished job out of history)
// made the page find an index entry without its view, and the read failed with a
// LogCorruptionError — "corrupt history" on a sound store. Reads now pin one LevelDB snapshot,
// taken with their read of memory: every LevelDB call of the read sees that moment. And close()
// lets a read that has begun end before it closes the store: such a read failed with LevelDB's
// own "Database is not open".
import type { ClassicLevel } from 'classic-level'
import { describe, expect, it } from 'vitest'
import { Wharf, type LevelLog } from '../../src/index.js'
import { closedAfterEach, tempLevelLogs } from './helpers.js'

const temp = tempLevelLogs('wharf-read-moment-')
const opened = closedAfterEach()

type Db = ClassicLevel<string, Uint8Array>

/** The LevelDB under a LevelLog (a private field: this test reaches in to time a write). */
const dbOf = (log: LevelLog): Db => (log as unknown as { db: Db }).db

/**
 * Three finished jobs; then, while a read is between its index read and its views' read (the
 * first getMany of history views), `meanwhile` runs to its end.
 */
async function readRacing(meanwhile: (wharf: Wharf, uuids: string[]) => Promise<unknown>) {
  const log = temp.at(await temp.path())
  const wharf = await Wharf.open({ log, channels: 'root:1' })
  opened.push(wharf)
  const jobs = wharf.model('res.partner', { ping: (n: number) => n })
  const uuids: string[] = []
  for (let n = 0; n < 3; n++) uuids.push((await jobs.withDelay().ping(n)).uuid)
  await wharf.start()
  await wharf.drain()
  await wharf.stop()
  const db = dbOf(log)
  const getMany = db.getMany.bind(db) as (...args: unknown[]) => Promise<unknown>
  let raced = false
  ;(db as unknown as { getMany: (...args: unknown[]) => Promise<unknown> }).getMany = async (...args: unknown[]) => {
    if (!raced) {
      raced = true
      await meanwhile(wharf, uuids)
    }
    return getMany(...args)
  }
  const read = await wharf.jobs({ state: 'done', channel: 'root' })
  expect(raced).toBe(true)
  return { wharf, uuids, read }
}

describe('a read of finished jobs on LevelDB', () => {
  it('answers from the moment it began when a requeue takes a job out of history meanwhile', async () => {
    const { wharf, uuids, read } = await readRacing((wharf, uuids) => wharf.requeue(uuids[1]!))
    expect(read.map((j) => [j.uuid, j.state])).toEqual(uuids.map((uuid) => [uuid, 'done']))
    expect((await wharf.job(uuids[1]!))!.state).toBe('pending') // the requeue did happen
  })

  it('answers from the moment it began when a purge deletes finished jobs meanwhile', async () => {
    const { wharf, uuids, read } = await readRacing((wharf) => wharf.purge({ state: 'done' }))
    expect(read.map((j) => j.uuid)).toEqual(uuids)
    expect(await wharf.jobs({ state: 'done' })).toEqual([])
  })

  it('answers when close() is called while it reads: close() lets it end first', async () => {
    let closed: Promise<void> | null = null
    const { wharf, uuids, read } = await readRacing(async (wharf) => {
      closed = wharf.close()
      await new Promise((resolve) => setTimeout(resolve, 20)) // close() would be done by now
    })
    expect(read.map((j) => j.uuid)).toEqual(uuids)
    await closed
    await expect(wharf.jobs({ state: 'done' })).rejects.toMatchObject({ name: 'WharfClosedError' })
  })
})
