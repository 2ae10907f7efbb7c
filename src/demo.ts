// `npm start`: a small, real run of Wharf on an embedded LevelDB in ./.wharf-data/demo. It
// declares two models, configures channels and a retry pattern, delays single jobs and a graph
// (chain of groups, split), runs them with the system clock and prints every transition as it
// commits. Run it again (or kill it mid-run with Ctrl-C) and it shows what it found in the log:
// finished jobs from earlier runs, and running jobs recovered from a process that died.
// The dashboard is served while it runs; `npm start -- --keep` keeps it up after the run, until
// Ctrl-C, to look around in it.

import { join } from 'node:path'
import { chain, group, RetryableJobError, Wharf, type JobSpec, type JobView, type WharfEvent } from './index.js'
import type { DashboardServer } from './dashboard.js'

const path = join(process.cwd(), '.wharf-data', 'demo')
const wharf = await Wharf.open({ path, channels: 'root:4,root.mail:1,root.export:2:throttle=1' })
const found = wharf.openReport
const before = wharf.stats().states
console.log(`Wharf demo — LevelDB at ${path}`)
const earlier = Object.values(before).reduce((sum, n) => sum + n, 0)
if (earlier === 0) {
  console.log('empty log: first run\n')
} else {
  console.log(
    `reopened in ${found.openMs} ms: ${earlier} jobs from earlier runs, ${found.jobs} of them live in memory and the finished ones on disk ` +
      `(snapshot at seq ${found.snapshotSeq}, ${found.replayedEvents} events replayed), ` +
      `${found.requeued} recovered from a process that died, ${found.foundDead} found dead`,
  )
  console.log(`  states now: ${JSON.stringify(before)}\n`)
}

let flaky = 0
const partner = wharf.model('res.partner', {
  async generateThumbnail(size: [number, number]) {
    await this.sleep(40)
    return `thumbnails ${size[0]}x${size[1]} for partners ${this.records.join(', ')}`
  },
  async sendWelcome(template: string) {
    await this.sleep(25)
    // The first try fails like a flaky SMTP server would; the retry pattern brings it back.
    if (this.records[0] === 3 && flaky++ === 0) throw new RetryableJobError('SMTP server busy', { seconds: 1 })
    return `mailed ${template} to ${this.records.join(', ')}`
  },
})
const report = wharf.model('report', {
  async build(name: string) {
    await this.sleep(60)
    return `${name}.pdf`
  },
  async publish(name: string) {
    await this.sleep(10)
    return `published ${name}`
  },
})
wharf.configure('res.partner.sendWelcome', { channel: 'root.mail', retryPattern: { 1: 1, 3: 5 } })
wharf.configure('report.build', { channel: 'root.export' })

const keep = process.argv.includes('--keep')
const dashboard = await serveDashboard(wharf)
console.log(`dashboard: ${dashboard.url}${keep ? '' : '  (npm start -- --keep keeps it up after the run)'}\n`)

const started = Date.now()
// Listeners run synchronously for each committed event and reads are async: the demo labels each
// event from the job.created event it saw for that job.
const created = new Map<string, JobSpec>()
const label = (uuid: string): string => {
  const job = created.get(uuid)
  if (job === undefined) return uuid
  const records = job.records.length > 0 ? ` records ${job.records.join(',')}` : ''
  return `${job.description}(${job.args.map((a) => JSON.stringify(a)).join(', ')})${records} on ${job.channel}`
}
wharf.on('transition', (event: WharfEvent) => {
  if (!event.type.startsWith('job.') || event.type === 'job.eta_reached' || event.type === 'job.enqueued') return
  const at = String(Date.now() - started).padStart(5)
  if (event.type === 'job.created') created.set(event.job.uuid, event.job)
  const uuid = event.type === 'job.created' ? event.job.uuid : 'uuid' in event ? event.uuid : ''
  console.log(`${at} ms  ${event.type.padEnd(14)} ${label(uuid)}`)
})

console.log('channels root:4, root.mail:1, root.export:2 (throttle 1 s)\n')
const single: JobView = await partner.browse([1]).withDelay({ priority: 5 }).generateThumbnail([64, 64])
const welcome = partner.browse([1, 2, 3, 4, 5]).delayable().sendWelcome('welcome').split(2)
await chain(
  group(report.delayable().build('q3-sales'), report.delayable().build('q3-costs')),
  group(report.delayable().publish('q3-sales'), report.delayable().publish('q3-costs')),
).delay()
await welcome.delay()
await wharf.start()
await wharf.drain()

console.log('\nfinal states:', JSON.stringify(wharf.stats().states))
for (const job of [(await wharf.job(single.uuid))!, ...(await wharf.jobs({ model: 'report', order: 'desc', limit: 4 })).reverse()]) {
  console.log(`  ${job.description.padEnd(22)} ${job.state.padEnd(6)} retry=${job.retry} result=${JSON.stringify(job.result)}`)
}
if (keep) {
  console.log(`\nthe dashboard stays up at ${dashboard.url} — Ctrl-C to stop`)
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()))
}
await wharf.close() // closes the dashboard too
console.log('\nall of it is in the log: run `npm start` again to see it reopened')

/** On 7777, or on any free port when that one is taken (another demo running, say). */
async function serveDashboard(wharf: Wharf): Promise<DashboardServer> {
  try {
    return await wharf.serveDashboard()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
    return wharf.serveDashboard({ port: 0 })
  }
}
