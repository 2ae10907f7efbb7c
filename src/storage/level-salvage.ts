// Copy what LevelDB can read of a damaged database into a fresh one (level-rebuild.ts), one
// Wharf key range at a time, each in a child process (level-child.ts): forward until LevelDB
// fails or aborts, then backward from the range's end down to where the forward pass stopped.
// A damaged entry costs what lies between the two passes in its range, and the caller is told
// which keys bound that hole; the other ranges are copied whole. Wharf's own checks on the
// rebuilt store then say what the hole held: a gap or a lost tail in the log, a snapshot that no
// longer covers the floor, history index keys naming jobs without a view.

import { COUNT_PREFIX, VIEW_PREFIX } from './level-history.js'
import { levelChild, type ChildAnswer } from './level-child.js'

type Range = { gt?: string; gte?: string; lt?: string }

/** Every key falls in exactly one range; the big ones (log, views) alone, so a hole stays small. */
const RANGES: ReadonlyArray<{ name: string; range: Range }> = [
  { name: 'keys before the event log', range: { lt: 'e' } },
  { name: 'the event log', range: { gte: 'e', lt: 'h' } },
  { name: 'history indexes', range: { gte: 'h', lt: VIEW_PREFIX } },
  { name: 'history views', range: { gte: VIEW_PREFIX, lt: COUNT_PREFIX } },
  { name: 'history counts and finish times', range: { gte: COUNT_PREFIX, lt: 'm' } },
  { name: 'store id, floor and snapshot', range: { gte: 'm' } },
]

export interface Salvaged {
  /** Keys copied by the passes that finished (a pass LevelDB aborted copied some more). */
  keys: number
  /** One line per range with a hole; empty when everything was read. */
  holes: string[]
  /** Whether LevelDB could open the source at all. */
  opened: boolean
}

type Pass = { keys: number; last: string | null; failure: string | null; opened: boolean }

async function pass(from: string, to: string, direction: 'forward' | 'backward', range: Range): Promise<Pass> {
  const answer: ChildAnswer = await levelChild('copy', from, to, direction, JSON.stringify(range))
  if (answer.ok) {
    const a = answer as unknown as { keys: number; last: string | null; failed: string | null }
    return { keys: a.keys, last: a.last, failure: a.failed, opened: true }
  }
  return { keys: 0, last: answer.progress, failure: answer.message, opened: answer.progress !== null || /aborted/.test(answer.message) }
}

export async function salvage(from: string, to: string): Promise<Salvaged> {
  const result: Salvaged = { keys: 0, holes: [], opened: false }
  for (const { name, range } of RANGES) {
    const forward = await pass(from, to, 'forward', range)
    result.keys += forward.keys
    result.opened ||= forward.opened
    if (forward.failure === null) continue
    const rest: Range = forward.last === null ? range : { gt: forward.last, ...(range.lt === undefined ? {} : { lt: range.lt }) }
    const backward = await pass(from, to, 'backward', rest)
    result.keys += backward.keys
    const after = forward.last === null ? 'its start' : `key ${JSON.stringify(forward.last)}`
    const before = backward.last === null ? 'its end' : `key ${JSON.stringify(backward.last)}`
    result.holes.push(`${name}: the entries after ${after} and before ${before} (${forward.failure})`)
  }
  return result
}
