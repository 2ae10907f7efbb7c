// Child program of test/unit/crash.test.ts: a real Wharf on a LevelDB directory, killed with
// SIGKILL at random moments. Usage: node --import tsx worker.ts <dir> <seed> <round>
// (round < 0: enqueue nothing, only drain). stdout protocol, one line each, written only after
// the fact is durable (stdout to a pipe is synchronous on Linux, so a line outlives a kill):
//   OPEN                 Wharf.open resolved (replay and recovery done)
//   ACK <uuid>           an awaited enqueue resolved: this job is durable
//   DONE <uuid> / FAIL <uuid>  a committed job.done / job.failed event (emitted after the append)
//   ENQUEUED             this round's whole workload is stored
//   DRAINED              nothing is left to run
// Handlers are deterministic functions of their args; the Spec in args says how each one ends.
import {
  chain,
  FailedJobError,
  group,
  NothingToDoJob,
  RetryableJobError,
  Wharf,
  type Delayable,
  type JobView,
} from '../../src/index.js'
import { seededRandom as prng } from '../sim/prng.js'

export type Kind = 'ok' | 'retry' | 'fail' | 'exhaust' | 'nothing'
/** The job's only argument. ok: returns {tag, records}; retry: RetryableJobError while
 * job.retry <= tries, then ok; fail: FailedJobError always; exhaust: RetryableJobError always
 * (maxRetries 2, so it ends failed); nothing: NothingToDoJob(`nothing for ${tag}`). */
export interface Spec {
  tag: string
  kind: Kind
  tries: number
  ms: number
  delay: number
}

const CHANNELS = 'root:4,root.mail:1,root.export:2,root.sync:1:sequential'

const [dir, seedText, roundText] = process.argv.slice(2)
if (dir === undefined || seedText === undefined || roundText === undefined) {
  process.stderr.write('usage: worker.ts <dir> <seed> <round>\n')
  process.exit(2)
}
const round = Number(roundText)

const rand = prng((Number(seedText) * 7919 + round * 104729) >>> 0)
const int = (n: number): number => Math.floor(rand() * n)
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!

const say = (line: string): void => {
  process.stdout.write(line + '\n')
}

const wharf = await Wharf.open({
  path: dir,
  channels: CHANNELS,
  // Small snapshot intervals in some rounds, so kills also land in snapshot writes and compaction.
  snapshotEvery: pick([0, 40, 150, 50_000]),
})
say('OPEN')
wharf.on('transition', (event) => {
  if (event.type === 'job.done') say(`DONE ${event.uuid}`)
  else if (event.type === 'job.failed') say(`FAIL ${event.uuid}`)
})

const model = wharf.model('crash.job', {
  async work(spec: Spec) {
    if (spec.ms > 0) await this.sleep(spec.ms)
    const retry = this.job!.retry
    if (spec.kind === 'fail') throw new FailedJobError(`planned failure of ${spec.tag}`)
    if (spec.kind === 'exhaust' || (spec.kind === 'retry' && retry <= spec.tries)) {
      throw new RetryableJobError(`try ${retry} of ${spec.tag}`, { seconds: spec.delay })
    }
    if (spec.kind === 'nothing') throw new NothingToDoJob(`nothing for ${spec.tag}`)
    return { tag: spec.tag, records: [...this.records] }
  },
})

let serial = 0
const CHANNEL_NAMES = ['root', 'root.mail', 'root.export', 'root.sync'] as const

interface Planned {
  spec: Spec
  props: { priority: number; channel: string; maxRetries: number; identityKey?: string }
  record: number
}

/** A random job: its kind, sleep, retry plan and properties. */
function plan(keyed: boolean): Planned {
  const channel = pick(CHANNEL_NAMES)
  // A failed job blocks a sequential channel for good: nothing meant to fail goes there.
  const kinds: Kind[] = ['ok', 'ok', 'ok', 'ok', 'retry', 'retry', 'retry', 'nothing']
  if (channel !== 'root.sync') kinds.push('fail', 'exhaust')
  const kind = pick(kinds)
  const tries = kind === 'retry' ? 1 + int(2) : 0
  const spec: Spec = { tag: `r${round}-${serial++}`, kind, tries, ms: pick([0, 0, 1, 3, 8, 20]), delay: 0.05 + int(16) / 100 }
  // maxRetries 0 (infinite) or high: a JobFoundDead needs more kills of one job than it allows.
  const maxRetries = kind === 'exhaust' ? 2 : kind === 'retry' ? pick([0, tries + 4]) : pick([0, 0, 5])
  const props: Planned['props'] = { priority: int(20), channel, maxRetries }
  if (keyed) props.identityKey = `key-${int(4)}`
  return { spec, props, record: round * 1000 + serial }
}

function delayable(p: Planned): Delayable {
  return model.browse([p.record]).delayable().work(p.spec).set(p.props)
}

function ack(view: JobView | undefined): void {
  if (view !== undefined) say(`ACK ${view.uuid}`)
}

/** Store a graph; one ACK per job of it (a job skipped by an identity key has no view). */
async function delayGraph(root: { delay(): Promise<unknown> }, nodes: Delayable[]): Promise<void> {
  await root.delay()
  for (const node of nodes) ack(node.job)
}

async function enqueueRound(): Promise<void> {
  // Single jobs, one await at a time.
  for (let i = 0, n = 3 + int(4); i < n; i++) {
    const p = plan(rand() < 0.3)
    ack(await model.browse([p.record]).withDelay(p.props).work(p.spec))
  }
  // Several at once: they share a tick (group commit); each ACK follows its own promise.
  await Promise.all(
    Array.from({ length: 2 + int(5) }, () => {
      const p = plan(rand() < 0.2)
      return model.browse([p.record]).withDelay(p.props).work(p.spec).then(ack)
    }),
  )
  // A chain, a group, and chain(group, group, tail).
  const c = Array.from({ length: 2 + int(3) }, () => delayable(plan(false)))
  await delayGraph(chain(...c), c)
  const g = Array.from({ length: 2 + int(3) }, () => delayable(plan(false)))
  await delayGraph(group(...g), g)
  const a = [delayable(plan(false)), delayable(plan(false))]
  const b = Array.from({ length: 1 + int(3) }, () => delayable(plan(false)))
  const tail = delayable(plan(rand() < 0.5))
  await delayGraph(chain(group(...a), group(...b), tail), [...a, ...b, tail])
  // A diamond built with onDone, with an identity key on one node.
  const [top, left, right, bottom] = [plan(true), plan(false), plan(false), plan(false)].map(delayable) as [Delayable, Delayable, Delayable, Delayable]
  top.onDone(left, right)
  left.onDone(bottom)
  right.onDone(bottom)
  await delayGraph(top, [top, left, right, bottom])
}

const enqueue = round >= 0 && round % 2 === 0
const startFirst = rand() < 0.5
if (startFirst) await wharf.start()
if (enqueue) {
  await enqueueRound()
  say('ENQUEUED')
}
if (!startFirst) await wharf.start()
await wharf.drain()
say('DRAINED')
await wharf.close()
process.exit(0)
