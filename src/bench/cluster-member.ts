// A cluster member in a process of its own, for the cluster throughput bench (cluster-bench.ts).
// argv: url schema node workers (0: a producer, which never starts). It loads, prints "READY",
// then obeys one command a line on stdin, answering each with one line on stdout:
//   open            → Wharf.open on the schema at channels root:16; "OPEN <role>"
//   start           → wharf.start(): its no-op handlers take work; "STARTED"
//   fill <n>        → delayMany of n jobs in calls of 1,000; "FILLED"
//   produce <n>     → n enqueues, each awaited before the next; "PRODUCED"
//   done            → "DONE <jobs done>" (as this process's state says)
//   mark            → "MARK": CPU is counted from here
//   cpu             → "CPU <µs of user+system CPU since the mark> <handlers run since the mark>"
//   close           → "CLOSED", and exit
// Its own process.cpuUsage() is what it reports: the bench sums the members'. With
// WHARF_CLUSTER_PROFILE=<dir>, it also profiles its CPU from mark to cpu, into that directory.
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Wharf } from '../index.js'

const [url, schema, node, workersArg] = process.argv.slice(2) as [string, string, string, string]
const workers = Number(workersArg)
let wharf: Wharf | null = null
let model: ReturnType<typeof define> | null = null
let ran = 0
let since = process.cpuUsage()
let ranAtMark = 0
const profileDir = process.env.WHARF_CLUSTER_PROFILE
let profiler: Session | null = null

function define(opened: Wharf) {
  return opened.model('bench.cluster', {
    work(_n: number) {
      ran++
    },
  })
}

async function obey(words: string[]): Promise<string> {
  switch (words[0]) {
    case 'open':
      wharf = await Wharf.open({ postgres: url, schema, node, channels: 'root:16', ...(workers > 0 ? { workers } : {}) })
      model = define(wharf)
      return `OPEN ${wharf.cluster().role}`
    case 'start':
      await wharf!.start()
      return 'STARTED'
    case 'fill': {
      const n = Number(words[1])
      for (let i = 0; i < n; i += 1_000) {
        const batch = Array.from({ length: Math.min(1_000, n - i) }, (_, j) => model!.delayable().work(i + j))
        await wharf!.delayMany(batch)
      }
      return 'FILLED'
    }
    case 'produce': {
      const n = Number(words[1])
      for (let i = 0; i < n; i++) await model!.withDelay().work(i)
      return 'PRODUCED'
    }
    case 'done':
      return `DONE ${wharf!.stats().states.done}`
    case 'mark':
      if (profileDir !== undefined) {
        profiler = new Session()
        profiler.connect()
        await profiler.post('Profiler.enable')
        await profiler.post('Profiler.start')
      }
      since = process.cpuUsage()
      ranAtMark = ran
      return 'MARK'
    case 'cpu': {
      const used = process.cpuUsage(since)
      if (profiler !== null) {
        const { profile } = await profiler.post('Profiler.stop')
        writeFileSync(join(profileDir!, `${node}-${process.pid}.cpuprofile`), JSON.stringify(profile))
        profiler.disconnect()
        profiler = null
      }
      return `CPU ${used.user + used.system} ${ran - ranAtMark}`
    }
    case 'close':
      await wharf?.close()
      return 'CLOSED'
    default:
      throw new Error(`unknown command ${JSON.stringify(words[0])}`)
  }
}

process.stdout.write('READY\n')
const lines = createInterface({ input: process.stdin })
let queue = Promise.resolve()
lines.on('line', (line) => {
  queue = queue.then(async () => {
    const words = line.trim().split(' ')
    try {
      process.stdout.write(`${await obey(words)}\n`)
    } catch (error) {
      process.stdout.write(`ERROR ${error instanceof Error ? error.message : String(error)}\n`.replaceAll('\n', ' ') + '\n')
    }
    if (words[0] === 'close') process.exit(0)
  })
})
