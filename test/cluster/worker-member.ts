// A worker process for cluster-workers.test.ts to SIGKILL: it opens the schema given as a follower
// (argv: url schema node), takes one job at a time (workers: 1), and runs handlers that never end
// (their jobs stay started until it dies). stdout: "OPEN <role>", then "STARTED <uuid> <retry>" as
// each job starts here.
import { Wharf } from '../../src/index.js'

const [url, schema, node] = process.argv.slice(2) as [string, string, string]
const wharf = await Wharf.open({ postgres: url, schema, node, channels: 'root:2', workers: 1 })
wharf.model('res.partner', {
  hang() {
    process.stdout.write(`STARTED ${this.job!.uuid} ${this.job!.retry}\n`)
    return new Promise<never>(() => undefined)
  },
})
await wharf.start()
process.stdout.write(`OPEN ${wharf.cluster().role}\n`)
// Held open by the cluster's connections; the test kills it.
setInterval(() => undefined, 60_000)
