// The browser tests' Wharf (not a test file itself): an in-memory store with a realistic mix —
// failed mail jobs with a traceback, done thumbnails, pending jobs due in an hour, one waiting
// for them, a cancelled one, a report graph, a job whose description is markup (unless
// `markup: false`, for the screenshot), and one handler held running (at 40%, with a progress
// message) until `release()`; and a quarterly cron.

import { chain, FailedJobError, group, Wharf, type JobView } from '../../src/index.js'

export interface Fixture {
  wharf: Wharf
  failed: string[]
  done: string[]
  pending: string[]
  running: string
  /** Done, its identity key now held by a pending job: a requeue of it is refused. */
  keyHeld: string
  /** The markup-looking description's job. */
  xss: string
  /** A job of the three-job report graph. */
  graphJob: string
  /** Lets the running handler return. */
  release: () => void
  close: () => Promise<void>
}

export const XSS_DESCRIPTION = '<img src=x onerror=alert(1)>'

/** Resolves once check() holds, checking again after every committed event. */
export async function until(wharf: Wharf, check: () => Promise<boolean>): Promise<void> {
  for (;;) {
    let off = (): void => {}
    const event = new Promise<void>((resolve) => (off = wharf.on('transition', () => resolve())))
    try {
      if (await check()) return
      await event
    } finally {
      off()
    }
  }
}

async function inState(wharf: Wharf, uuids: string[], state: JobView['state']): Promise<void> {
  await until(wharf, async () => (await Promise.all(uuids.map((u) => wharf.job(u)))).every((job) => job?.state === state))
}

export async function openFixture(options: { markup?: boolean } = {}): Promise<Fixture> {
  const wharf = await Wharf.open({ channels: 'root:4,root.mail:2,root.export:2' })
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  let mailFails = true
  const partner = wharf.model('res.partner', {
    async sendWelcome(template: string) {
      if (mailFails) throw new FailedJobError(`SMTP 550: mailbox of partner ${this.records.join(',')} unavailable (${template})`)
      return `mailed ${template}`
    },
    generateThumbnail(size: number) {
      return `thumbnail ${size}px for ${this.records.join(',')}`
    },
    openPartner() {
      return { url: `https://crm.example.com/partners/${this.records[0]}`, label: `Partner ${this.records[0]}` }
    },
    async syncCrm() {
      this.progress(0.4, 'Synced 40 of 100 partners')
      await gate
      return 'synced'
    },
  })
  const report = wharf.model('report', { build: (name: string) => `${name}.pdf`, publish: (name: string) => `published ${name}` })
  wharf.configure('res.partner.sendWelcome', { channel: 'root.mail', relatedAction: { enable: true, funcName: 'openPartner' } })
  wharf.configure('report.build', { channel: 'root.export' })

  const failed = await Promise.all([1, 2, 3].map((id) => partner.browse([id]).withDelay({ description: `Welcome mail to partner ${id}` }).sendWelcome('welcome')))
  const done = await Promise.all([10, 11].map((id) => partner.browse([id]).withDelay({ description: `Thumbnail of partner ${id}` }).generateThumbnail(128)))
  const pending = await Promise.all([20, 21].map((id) => partner.browse([id]).withDelay({ eta: 3600, description: `Nightly thumbnail of partner ${id}` }).generateThumbnail(512)))
  const xss = await partner.browse([30]).withDelay({ description: options.markup === false ? 'Avatar of partner 30' : XSS_DESCRIPTION }).generateThumbnail(64)
  const importing = partner.browse([60]).delayable({ eta: 3600, description: 'Import of partner 60' }).generateThumbnail(16)
  await importing.onDone(partner.browse([60]).delayable({ description: 'Welcome mail after the import' }).sendWelcome('imported')).delay()
  await wharf.cancel((await partner.browse([22]).withDelay({ eta: 3600, description: 'Nightly thumbnail of partner 22' }).generateThumbnail(512)).uuid)
  const steps = [report.delayable().build('q3-sales'), report.delayable().build('q3-costs'), report.delayable().publish('q3')]
  await chain(group(steps[0]!, steps[1]!), steps[2]!).delay()
  const graph = steps.map((step) => step.job!)
  // Fires on the first day of a quarter only: never while a test runs, in practice.
  await wharf.cron('quarterly-report', '0 6 1 1,4,7,10 *', report.delayable().build('quarter'), { tz: 'Europe/Brussels' })
  await wharf.start()
  const running = await partner.browse([40]).withDelay({ description: 'CRM sync of partner 40', channel: 'root' }).syncCrm()
  await inState(wharf, failed.map((j) => j.uuid), 'failed')
  mailFails = false // a requeued mail now goes through
  const exported = await partner.browse([50]).withDelay({ description: 'Export of partner 50', identityKey: 'export:50' }).generateThumbnail(32)
  await inState(wharf, [...done, xss, ...graph, exported].map((j) => j.uuid), 'done')
  await partner.browse([50]).withDelay({ description: 'Export of partner 50, again', identityKey: 'export:50', eta: 3600 }).generateThumbnail(32)
  await inState(wharf, [running.uuid], 'started')
  await until(wharf, async () => (await wharf.job(running.uuid))?.progress !== null)
  return {
    wharf,
    failed: failed.map((j) => j.uuid),
    done: done.map((j) => j.uuid),
    pending: pending.map((j) => j.uuid),
    running: running.uuid,
    keyHeld: exported.uuid,
    xss: xss.uuid,
    graphJob: graph[0]!.uuid,
    release,
    close: async () => {
      release()
      await wharf.close()
    },
  }
}
