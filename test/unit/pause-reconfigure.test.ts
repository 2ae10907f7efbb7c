// Proves that a store whose channels were paused or resumed at run time opens under any channels
// option: a pause or resume in the log applies whatever the option now says of that channel, so
// adding `paused` to a channel that was paused at run time, dropping it from one that was
// resumed, or opening with no option at all (as the CLI's --path does) gives the log's latest
// pause state. Before, the replay asserted the state before each event ("channel root.a resumed
// while running"): the app could not open its own store after such a change, and `wharf --path`
// and `wharf verify` failed on a healthy one.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Wharf } from '../../src/index.js'
import { checkStore } from '../../src/cli/verify-store.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-pause-reconfigure-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const open = (channels?: string) => Wharf.open({ path: dir, scrubHistory: false, ...(channels === undefined ? {} : { channels }) })

/** Each channel's `paused`, by name. */
const pauses = (wharf: Wharf) => Object.fromEntries(wharf.stats().channels.map((c) => [c.name, c.paused]))

/** Under `before`: resume root.a (paused by the option), pause root.b, optionally snapshot. */
async function pauseAndResume(before: string, snapshot: boolean): Promise<void> {
  const wharf = await open(before)
  await wharf.resumeChannel('root.a')
  await wharf.pauseChannel('root.b')
  if (snapshot) await wharf.snapshot()
  await wharf.close()
}

describe('a store paused and resumed at run time', () => {
  for (const snapshot of [false, true]) {
    const from = snapshot ? 'a snapshot' : 'the log'

    it(`opens under an option that drops root.a's paused and adds root.b's (state from ${from})`, async () => {
      await pauseAndResume('root:2,root.a:1:paused,root.b:1', snapshot)
      const wharf = await open('root:2,root.a:1,root.b:1:paused')
      try {
        expect(pauses(wharf)).toEqual({ root: false, 'root.a': false, 'root.b': true })
      } finally {
        await wharf.close()
      }
    })

    it(`opens with no channels option, as the CLI does, and verifies clean (state from ${from})`, async () => {
      await pauseAndResume('root:2,root.a:1:paused,root.b:1', snapshot)
      const wharf = await open()
      try {
        expect(pauses(wharf)).toEqual({ root: false, 'root.a': false, 'root.b': true })
      } finally {
        await wharf.close()
      }
      const report = await checkStore(dir)
      expect(report.problems).toEqual([])
    })
  }

  it('still pauses and resumes by the latest event: a channel paused again after a resume is paused', async () => {
    let wharf = await open('root:2,root.a:1:paused')
    await wharf.resumeChannel('root.a')
    await wharf.pauseChannel('root.a')
    await wharf.close()
    wharf = await open('root:2,root.a:1')
    try {
      expect(pauses(wharf)['root.a']).toBe(true)
    } finally {
      await wharf.close()
    }
  })
})
