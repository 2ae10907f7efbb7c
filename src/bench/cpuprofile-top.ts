// Self time of CPU profiles (.cpuprofile, as node --cpu-prof or the cluster bench's members write
// them), summed by function and file across the files given, the most first:
//   node --import tsx src/bench/cpuprofile-top.ts [--files] [--top N] <file or dir>…
// --files: by file only. Times in ms, with each row's share of the total sampled time.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const args = process.argv.slice(2)
const byFile = args.includes('--files')
const topAt = args.indexOf('--top')
const top = topAt >= 0 ? Number(args[topAt + 1]) : 40
const paths = args.filter((a, i) => !a.startsWith('--') && (topAt < 0 || i !== topAt + 1))
const files = paths.flatMap((p) => (statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(p, f)) : [p]))

const selfUs = new Map<string, number>()
let totalUs = 0
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const keyOf = new Map<number, string>()
  for (const { id, callFrame: f } of profile.nodes) {
    const url = f.url.replace(/^file:\/\//, '').replace(/^.*\/(src|node_modules)\//, '$1/')
    keyOf.set(id, byFile ? url || '(native)' : `${f.functionName || '(anonymous)'}  ${url}${url ? `:${f.lineNumber + 1}` : ''}`)
  }
  // Each sample's time is the delta before the next one.
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? 0
    const key = keyOf.get(profile.samples[i]!)!
    selfUs.set(key, (selfUs.get(key) ?? 0) + us)
    totalUs += us
  }
}
const idle = selfUs.get('(idle)  ') ?? selfUs.get('(idle)') ?? 0
console.log(`${files.length} profile(s): ${(totalUs / 1000).toFixed(0)} ms sampled, of which idle ${(idle / 1000).toFixed(0)} ms`)
for (const [key, us] of [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / (totalUs - idle)).toFixed(1).padStart(5)}%  ${key}`)
}
