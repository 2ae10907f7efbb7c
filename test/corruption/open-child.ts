// Child program of test/unit/corruption.test.ts: opens a damaged store the way a user would, in
// its own process, because a damaged LevelDB table can abort the process inside LevelDB's native
// code (an assertion in its block decoder), which no JavaScript can catch. Usage:
//   node --import tsx open-child.ts <store path> <mode>,<mode>,…    (mode: throw | truncate)
// One open per mode, in order, each closed before the next, after its history scrub has ended.
// One JSON line per open on stdout:
//   {"mode","ok":true,"digest","jobs","uuids","warnings","integrity"}  or  {"mode","ok":false,"name","code","message"}
// `digest` hashes every JobView, so the parent compares states without shipping them; `uuids`
// says which jobs a changed state lacks; `integrity` is what the scrub found (wharf.integrity()).
import { createHash } from 'node:crypto'
import { allJobs } from './store.js'

const [path, modes] = process.argv.slice(2)
if (path === undefined || modes === undefined) {
  process.stderr.write('usage: open-child.ts <store path> <mode>,<mode>,…\n')
  process.exit(2)
}

const warnings: string[] = []
process.removeAllListeners('warning')
process.on('warning', (warning) => warnings.push(warning.message))

for (const mode of modes.split(',')) {
  if (mode !== 'throw' && mode !== 'truncate') throw new Error(`unknown mode ${JSON.stringify(mode)}`)
  warnings.length = 0
  try {
    const { views, integrity } = await allJobs(path, { onCorruption: mode })
    // Warnings are emitted on the next tick: let them arrive before reporting.
    await new Promise((resolve) => setImmediate(resolve))
    const digest = createHash('sha256').update(JSON.stringify(views)).digest('hex')
    const uuids = views.map((v) => v.uuid)
    process.stdout.write(JSON.stringify({ mode, ok: true, digest, jobs: views.length, uuids, warnings, integrity }) + '\n')
  } catch (error) {
    const e = error as { name?: string; code?: string; message?: string }
    process.stdout.write(JSON.stringify({ mode, ok: false, name: e?.name, code: e?.code, message: e?.message }) + '\n')
  }
}
