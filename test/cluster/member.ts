// A cluster member in a process of its own, for cluster-failover.test.ts to SIGKILL: it opens the
// schema given (argv: url schema node), runs handlers that never end (their jobs stay started
// until it dies), and reports on stdout: "OPEN <role>", then "STARTED <n>" as each job starts.
import { Wharf } from '../../src/index.js'

const [url, schema, node] = process.argv.slice(2) as [string, string, string]
const wharf = await Wharf.open({ postgres: url, schema, node, channels: 'root:2' })
wharf.model('res.partner', {
  work(n: number) {
    process.stdout.write(`STARTED ${n}\n`)
    return new Promise<never>(() => undefined)
  },
})
await wharf.start()
process.stdout.write(`OPEN ${(await wharf.cluster()).role}\n`)
// Held open by the cluster's connections; the test kills it.
setInterval(() => undefined, 60_000)
