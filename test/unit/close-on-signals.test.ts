// Proves closeOnSignals() in processes of their own: SIGTERM (or SIGINT) while a handler runs lets
// it finish, closes the store and exits 0, leaving nothing to recover; a second signal exits 1 at
// once (the next open recovers the job); past timeoutMs a handler is aborted and the process still
// exits 0. In this process: it installs once, its remover and close() take the listeners away.
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { InvalidPropertyError, Wharf } from '../../src/index.js'
import { ROOT, tempDirs } from './cli-helpers.js'

const tempDir = tempDirs('wharf-signals-')

/** The app: one job whose handler runs until the parent writes `finish` to its stdin (or close()
 * aborts it), the signals handled by closeOnSignals(). */
const APP = `
import { Wharf } from ${JSON.stringify(join(ROOT, 'src/index.ts'))}
const [path, timeoutMs] = process.argv.slice(2)
const wharf = await Wharf.open({ path })
let finish = () => {}
const finished = new Promise((resolve) => (finish = resolve))
process.stdin.setEncoding('utf8').on('data', (text) => { if (text.includes('finish')) finish() })
const app = wharf.model('app', {
  async work() {
    console.log('started ' + this.context.jobUuid)
    await Promise.race([finished, new Promise((resolve) => this.signal.addEventListener('abort', resolve))])
    console.log(this.signal.aborted ? 'aborted' : 'finished')
    return 'ok'
  },
})
wharf.closeOnSignals(timeoutMs === undefined ? {} : { timeoutMs: Number(timeoutMs) })
await app.withDelay().work()
await wharf.start()
`

interface Run {
  /** Resolves once stdout (or stderr) has printed `text`; the text so far. */
  out(text: string): Promise<string>
  err(text: string): Promise<string>
  send(text: string): void
  kill(signal: NodeJS.Signals): void
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

async function runApp(...args: string[]): Promise<{ run: Run; path: string }> {
  const dir = await tempDir()
  const file = join(dir, 'app.mts')
  writeFileSync(file, APP)
  const path = join(dir, 'jobs')
  const child = spawn(process.execPath, ['--import', 'tsx', file, path, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
  const texts = { out: '', err: '' }
  const waiting: { stream: 'out' | 'err'; text: string; resolve: (s: string) => void }[] = []
  const check = (): void => {
    for (const w of waiting.splice(0)) {
      if (texts[w.stream].includes(w.text)) w.resolve(texts[w.stream])
      else waiting.push(w)
    }
  }
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => ((texts.out += chunk), check()))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => ((texts.err += chunk), check()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })))
  const wait = (stream: 'out' | 'err', text: string): Promise<string> =>
    Promise.race([
      new Promise<string>((resolve) => {
        waiting.push({ stream, text, resolve })
        check()
      }),
      exited.then(() => {
        throw new Error(`the app exited before printing ${JSON.stringify(text)}: ${texts.out} ${texts.err}`)
      }),
    ])
  const run: Run = {
    out: (text) => wait('out', text),
    err: (text) => wait('err', text),
    send: (text) => child.stdin.write(text),
    kill: (signal) => child.kill(signal),
    exited,
  }
  return { run, path }
}

async function reopened<T>(path: string, read: (wharf: Wharf) => Promise<T>): Promise<T> {
  const wharf = await Wharf.open({ path })
  try {
    return await read(wharf)
  } finally {
    await wharf.close()
  }
}

const uuidOf = (out: string): string => /started (\S+)/.exec(out)![1]!

describe('closeOnSignals() in its own process', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} while a handler runs: the handler finishes, the store closes, exit 0`, async () => {
      const { run, path } = await runApp()
      const uuid = uuidOf(await run.out('started '))
      run.kill(signal)
      await run.err(`wharf: ${signal}: closing`)
      run.send('finish\n')
      expect(await run.exited).toEqual({ code: 0, signal: null })
      expect(await run.out('finished')).toContain('finished')
      const { requeued, job } = await reopened(path, async (w) => ({ requeued: w.openReport.requeued, job: await w.job(uuid) }))
      expect(requeued).toBe(0)
      expect(job).toMatchObject({ state: 'done', result: 'ok' })
    })
  }

  it('a second signal while closing exits 1 at once; the next open recovers the job', async () => {
    const { run, path } = await runApp()
    const uuid = uuidOf(await run.out('started '))
    run.kill('SIGTERM')
    await run.err('wharf: SIGTERM: closing')
    run.kill('SIGTERM')
    expect(await run.exited).toEqual({ code: 1, signal: null })
    const { requeued, job } = await reopened(path, async (w) => ({ requeued: w.openReport.requeued, job: await w.job(uuid) }))
    expect(requeued).toBe(1)
    expect(job).toMatchObject({ state: 'pending', retry: 1 })
  })

  it('past timeoutMs the handler is aborted, the store closes, exit 0; the next open recovers the job', async () => {
    const { run, path } = await runApp('0')
    const uuid = uuidOf(await run.out('started '))
    run.kill('SIGTERM')
    expect(await run.exited).toEqual({ code: 0, signal: null })
    expect(await run.out('aborted')).toContain('aborted')
    const { requeued, job } = await reopened(path, async (w) => ({ requeued: w.openReport.requeued, job: await w.job(uuid) }))
    expect(requeued).toBe(1)
    expect(job?.state).toBe('pending')
  })
})

describe('closeOnSignals() listeners', () => {
  const counts = (): number[] => [process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')]

  it('installs once; its remover, or close(), takes them away', async () => {
    const before = counts()
    const wharf = await Wharf.open()
    const uninstall = wharf.closeOnSignals()
    expect(counts()).toEqual(before.map((n) => n + 1))
    expect(() => wharf.closeOnSignals()).toThrow(InvalidPropertyError)
    uninstall()
    uninstall()
    expect(counts()).toEqual(before)
    wharf.closeOnSignals({ timeoutMs: 5 })
    await wharf.close()
    expect(counts()).toEqual(before)
  })

  it('refuses bad options', async () => {
    const wharf = await Wharf.open()
    try {
      for (const options of [null, { timeoutMs: -1 }, { timeoutMs: 1.5 }, { timeoutMs: '30' }, { timeout: 30 }]) {
        expect(() => wharf.closeOnSignals(options as never), JSON.stringify(options)).toThrow(InvalidPropertyError)
      }
    } finally {
      await wharf.close()
    }
  })
})
