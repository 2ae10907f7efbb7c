// Throughput and CPU per job of a PostgreSQL cluster of four processes on one schema: three
// workers (workers 6, 5 and 5 at channels root:16, no-op handlers) and a producer that never
// starts (cluster-member.ts). Two scenarios: drain (the producer stores n jobs first, then the
// workers start and run them all) and produce (the workers run while the producer enqueues n jobs,
// awaiting each before the next). Either the first worker opens first (it is the scheduler), or the
// producer does (it is, and runs no handler). The time runs from the workers' start (drain) or the
// first enqueue (produce) until the producer's state counts n jobs done; the CPU is the members'
// own (process.cpuUsage, each reports its share) and the server's (utime+stime in /proc of the
// postmaster and its children) over that time. WHARF_CLUSTER_PROFILE=<dir>: each member also
// writes a CPU profile of that time there (cpuprofile-top.ts sums them).

import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { extname } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { connect } from '../storage/pg-driver.js'

const SCRIPT = fileURLToPath(new URL(`./cluster-member${extname(fileURLToPath(import.meta.url))}`, import.meta.url))
const WORKERS = [6, 5, 5]
/** /proc's CPU times are in clock ticks: 100 a second on Linux. */
const TICKS_PER_SECOND = 100
/** After the members opened (or the workers started): a heartbeat, so every member is known. */
const SETTLE_MS = 1_200
const RUN_TIMEOUT_MS = 120_000

export type ClusterScenario = 'drain' | 'produce'
export type FirstMember = 'worker' | 'producer'

export interface ClusterRun {
  jobsPerSec: number
  /** The four processes' CPU (user+system) per job done, ms. */
  nodeCpuMsPerJob: number
  /** The PostgreSQL server's CPU per job done, ms. */
  pgCpuMsPerJob: number
  /** Each member's CPU per job, ms (w1, w2, w3, producer), and the handlers each ran. */
  members: { node: string; cpuMsPerJob: number; ran: number }[]
}

class Member {
  private readonly answers: ((line: string) => void)[] = []
  private stderr = ''
  readonly ready: Promise<string>

  constructor(
    readonly node: string,
    private readonly child: ChildProcess,
  ) {
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-4_000)))
    let buffered = ''
    this.ready = new Promise((resolve) => this.answers.push(resolve))
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (buffered + chunk).split('\n')
      buffered = lines.pop()!
      for (const line of lines) this.answers.shift()?.(line)
    })
    child.on('exit', (code) => {
      for (const answer of this.answers.splice(0)) answer(`ERROR exited (${code}): ${this.stderr}`)
    })
  }

  /** One command; resolves with its answer's words after the first. */
  async ask(command: string): Promise<string[]> {
    const line = await new Promise<string>((resolve) => {
      this.answers.push(resolve)
      this.child.stdin!.write(command + '\n')
    })
    const words = line.split(' ')
    if (words[0] === 'ERROR') throw new Error(`cluster member ${this.node}, ${command}: ${line}`)
    return words.slice(1)
  }

  exited(): Promise<void> {
    if (this.child.exitCode !== null) return Promise.resolve()
    return new Promise((resolve) => this.child.once('exit', () => resolve()))
  }

  kill(): void {
    this.child.kill('SIGKILL')
  }
}

function spawnMember(url: string, schema: string, node: string, workers: number): Member {
  const args = [...process.execArgv.filter((a) => !a.startsWith('--expose')), SCRIPT, url, schema, node, String(workers)]
  return new Member(node, spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] }))
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** The postmaster serving `url`: the parent of this connection's backend. */
async function postmasterOf(url: string): Promise<number> {
  const sql = await connect(url, 'the cluster bench', 1)
  try {
    const [row] = (await sql.query('SELECT pg_backend_pid() AS pid')).rows
    return procStat(Number(row?.pid))!.ppid
  } finally {
    await sql.end()
  }
}

function procStat(pid: number): { ppid: number; ticks: number } | null {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null // gone meanwhile
  }
  // After the command's ')' (a command may hold spaces): state ppid … utime (12th) stime (13th).
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) }
}

/** CPU ms used so far by the postmaster and its children (the backends, walwriter …). */
function serverCpuMs(postmaster: number): number {
  let ticks = procStat(postmaster)?.ticks ?? 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = procStat(Number(entry))
    if (stat?.ppid === postmaster) ticks += stat.ticks
  }
  return (ticks * 1000) / TICKS_PER_SECOND
}

/** One run on a fresh schema of `url`'s server; `jobs` jobs. */
export async function measureCluster(url: string, schema: string, scenario: ClusterScenario, first: FirstMember, jobs: number): Promise<ClusterRun> {
  const postmaster = await postmasterOf(url)
  const workers = WORKERS.map((w, i) => spawnMember(url, schema, `w${i + 1}`, w))
  const producer = spawnMember(url, schema, 'producer', 0)
  const all = [...workers, producer]
  try {
    await Promise.all(all.map((m) => m.ready))
    // One by one: the first is the scheduler, and migrates the schema the others then find.
    for (const member of first === 'worker' ? all : [producer, ...workers]) await member.ask('open')
    await sleep(SETTLE_MS)
    if (scenario === 'drain') await producer.ask(`fill ${jobs}`)
    else {
      await Promise.all(workers.map((w) => w.ask('start')))
      await sleep(SETTLE_MS)
    }
    await Promise.all(all.map((m) => m.ask('mark')))
    const cpuBefore = serverCpuMs(postmaster)
    const started = performance.now()
    if (scenario === 'drain') await Promise.all(workers.map((w) => w.ask('start')))
    else await producer.ask(`produce ${jobs}`)
    const deadline = started + RUN_TIMEOUT_MS
    while (Number((await producer.ask('done'))[0]) < jobs) {
      if (performance.now() > deadline) throw new Error(`the cluster bench did not finish ${jobs} jobs in ${RUN_TIMEOUT_MS} ms`)
      await sleep(10)
    }
    const seconds = (performance.now() - started) / 1000
    const serverMs = serverCpuMs(postmaster) - cpuBefore
    const used = await Promise.all(all.map(async (m) => ({ node: m.node, answer: await m.ask('cpu') })))
    const members = used.map(({ node, answer }) => ({ node, cpuMsPerJob: Number(answer[0]) / 1000 / jobs, ran: Number(answer[1]) }))
    return {
      jobsPerSec: jobs / seconds,
      nodeCpuMsPerJob: members.reduce((sum, m) => sum + m.cpuMsPerJob, 0),
      pgCpuMsPerJob: serverMs / jobs,
      members,
    }
  } finally {
    // Followers first: the scheduler's leave would make them campaign.
    const order = first === 'worker' ? [producer, ...workers.slice(1), workers[0]!] : [...workers, producer]
    for (const member of order) await member.ask('close').catch(() => member.kill())
    await Promise.all(all.map((m) => m.exited()))
  }
}
