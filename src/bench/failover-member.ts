// A cluster member in a process of its own, for the failover bench (failover-bench.ts) to SIGKILL.
// argv: url schema. Spawned ahead as a spare, it loads, prints "READY", and opens only when its
// node name arrives on stdin (a spare's load never overlaps a measured failover). It runs handlers that take 50 ms at `root:4` (cluster-wide), and keeps a
// backlog: every 20 ms, while fewer than BACKLOG jobs are pending, it enqueues 10 more — through
// the inbox when it is a follower — so that some job is always waiting when the scheduler dies.
// stdout, times in ms since the epoch (performance's clock, comparable across processes):
//   "OPEN <role>" once open and started;
//   "START <startedAt> <now>" as a handler starts (startedAt: when the scheduler decided it);
//   "ROLE <role> <term> <now>" when this process's role changes (checked every 2 ms).
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { Wharf } from '../index.js'

const BACKLOG = 20
const HANDLER_MS = 50

const [url, schema] = process.argv.slice(2) as [string, string]
const nowMs = (): number => performance.timeOrigin + performance.now()
process.stdout.write('READY\n')
const lines = createInterface({ input: process.stdin })
const node = await new Promise<string>((resolve) => lines.once('line', resolve))
const wharf = await Wharf.open({ postgres: url, schema, node, channels: 'root:4' })
const bench = wharf.model('bench.failover', {
  async work(_n: number) {
    process.stdout.write(`START ${this.job!.startedAt} ${nowMs()}\n`)
    await new Promise((resolve) => setTimeout(resolve, HANDLER_MS))
  },
})
await wharf.start()
process.stdout.write(`OPEN ${wharf.cluster().role}\n`)

let role = ''
setInterval(() => {
  const view = wharf.cluster()
  if (view.role === role) return
  role = view.role
  process.stdout.write(`ROLE ${role} ${view.term} ${nowMs()}\n`)
}, 2)

let topping = false
setInterval(() => {
  if (topping || wharf.stats().states.pending >= BACKLOG) return
  topping = true
  const jobs = Array.from({ length: 10 }, (_, i) => bench.delayable().work(i))
  wharf
    .delayMany(jobs)
    .catch((error: unknown) => process.stderr.write(`enqueue refused: ${error instanceof Error ? error.message : String(error)}\n`))
    .finally(() => (topping = false))
}, 20)
