// Child program of test/unit/cron-crash.test.ts: a real Wharf on a LevelDB directory running a
// cron that fires every second (catchUp 'all'), killed with SIGKILL at random moments. Usage:
// node --import tsx cron-worker.ts <dir> <ms> — runs <ms> ms then closes (the test kills it
// before, except on the last run). stdout protocol, one line each, written only once durable
// (stdout to a pipe is synchronous on Linux, so a line outlives a kill):
//   OPEN                 the cron is declared and the engine started
//   FIRED <ms,ms,…>      a committed cron.fired event: the scheduled times whose jobs it stored
//   CLOSED               closed on its own after <ms>
import { Wharf } from '../../src/index.js'

const [dir, msText] = process.argv.slice(2)
if (dir === undefined || msText === undefined) {
  process.stderr.write('usage: cron-worker.ts <dir> <ms>\n')
  process.exit(2)
}

const wharf = await Wharf.open({ path: dir })
const m = wharf.model('crash', {
  async tick() {},
})
wharf.on('transition', (e) => {
  if (e.type === 'cron.fired') process.stdout.write(`FIRED ${e.fired.join(',')}\n`)
})
// Declared again at every start, as an app does: the same definition writes nothing.
await wharf.cron('every-second', '* * * * * *', m.delayable().tick(), { tz: 'UTC', catchUp: 'all' })
await wharf.start()
process.stdout.write('OPEN\n')
await new Promise((resolve) => setTimeout(resolve, Number(msText)))
await wharf.close()
process.stdout.write('CLOSED\n')
