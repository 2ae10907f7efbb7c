// A cluster member for cluster-chaos.test.ts: it runs short handlers (whatever its role: the
// scheduler assigns them to every member, at most two at once here), and enqueues all the time,
// through the inbox when it is a follower, with identity keys drawn from a key space every member
// shares (so the same key is enqueued by several processes at once). argv: url schema node seed;
// stdin: "JOIN" when it is to open.
// stdout: "ACK <uuid> <key>" once an enqueue is acknowledged; "BUSY" when a handler starts here.
import { Wharf } from '../../src/index.js'
import { seededRandom } from '../sim/prng.js'

const [url, schema, node, seed] = process.argv.slice(2) as [string, string, string, string]
const random = seededRandom(Number(seed))
// Started ahead of its turn (node, tsx and the engine's modules take most of a start), it opens
// its Wharf, so joins the cluster, only when the test says so: a line on stdin.
await new Promise((resolve) => process.stdin.once('data', resolve))
const wharf = await Wharf.open({ postgres: url, schema, node, channels: 'root:2', workers: 2 })
const partner = wharf.model('res.partner', {
  async work(n: number) {
    process.stdout.write('BUSY\n')
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 20)))
    return n
  },
})
await wharf.start()
process.stdout.write('OPEN\n')
for (;;) {
  const n = Math.floor(random() * 400)
  try {
    const job = await partner.browse([n]).withDelay({ identityKey: `k-${n}` }).work(n)
    process.stdout.write(`ACK ${job.uuid} k-${n}\n`)
  } catch (error) {
    // A deposed scheduler refuses everything from then on: this process is done.
    process.stderr.write(`enqueue refused: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(3)
  }
}
