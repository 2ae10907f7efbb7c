// LevelDB work on a damaged store that runs in a child process. LevelDB 1.20 (inside
// classic-level) asserts on some damaged table entries — a key shorter than its 8-byte trailer
// aborts the whole process (`ExtractUserKey: Assertion 'internal_key.size() >= 8' failed`),
// which no JavaScript can catch. Reading every entry of a store, and LevelDB's repair, meet such
// entries by design, so they run here: a crash is an answer ("LevelDB cannot read this store"),
// not the end of the caller's process.
//
// The child is a few lines of plain JavaScript given to `node -e`, importing the same
// classic-level as this module: nothing to build, and it runs the same from source and from dist.
//
//   scan <path>          read every entry, forward and backward, and the keys Wharf reads by
//                        point lookup
//   repair <path>        ClassicLevel.repair (LevelDB's RepairDB): salvage every readable entry
//   copy <from> <to> <forward|backward> <range as JSON>
//                        copy the entries of a key range into a database (created if need be),
//                        printing {"progress": last key} after each synced batch, until the end
//                        of the range or LevelDB's first error
// Each ends with one JSON line: {"ok":true,…}; a child that died answers {"ok":false,"message"}
// with the last progress it printed.

import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { TABLE_CUT_SHORT } from './level-corruption.js'

const CLASSIC_LEVEL = pathToFileURL(createRequire(import.meta.url).resolve('classic-level')).href
/** Entries per native round trip and per copied batch. */
const CHUNK = 100

const PROGRAM = `
// Any other error ends the child; its message is the last line of stderr, for the parent to name.
// An open's failure carries LevelDB's words in its cause (level-corruption.ts, levelMessage).
process.on('uncaughtException', (error) => { process.stderr.write([error?.message ?? error, error?.cause?.message].filter(Boolean).join(': ') + '\\n'); process.exit(1) })
const { ClassicLevel } = await import(${JSON.stringify(CLASSIC_LEVEL)})
const [op, path, to] = process.argv.slice(1)
const options = { keyEncoding: 'utf8', valueEncoding: 'view', createIfMissing: false }
const say = (answer) => process.stdout.write(JSON.stringify(answer) + '\\n')
const damaged = (error) => error?.code === 'LEVEL_CORRUPTION' || (error?.code === 'LEVEL_IO_ERROR' && ${TABLE_CUT_SHORT}.test(error.message))
const corruption = (error) => { if (!damaged(error)) throw error; return error.message }
async function walk(db, range, each) {
  const it = db.iterator(range)
  try {
    for (let entries = await it.nextv(${CHUNK}); entries.length > 0; entries = await it.nextv(${CHUNK})) await each(entries)
    return null
  } catch (error) {
    return corruption(error)
  } finally {
    await it.close()
  }
}
if (op === 'repair') {
  await ClassicLevel.repair(path)
  say({ ok: true })
} else if (op === 'scan') {
  const db = new ClassicLevel(path, options)
  await db.open()
  // Backward too: a step back restarts decoding at a block's restart point, as a seek does, where
  // a damaged entry fails ("bad entry in block") although a forward pass read past it.
  let failed = (await walk(db, {}, async () => {})) ?? (await walk(db, { reverse: true }, async () => {}))
  for (const key of ['s', 'm:floor', 'm:id', 'h\\x00complete']) if (failed === null) await db.get(key).catch((e) => (failed = corruption(e)))
  await db.close()
  say(failed === null ? { ok: true } : { ok: false, message: failed })
} else if (op === 'copy') {
  // argv: from, to, direction (forward | backward), then the range as JSON. Progress lines go out
  // after every synced batch: if LevelDB aborts, the parent knows how far the copy got.
  const [direction, rangeJson] = process.argv.slice(4)
  const from = new ClassicLevel(path, options)
  const target = new ClassicLevel(to, { ...options, createIfMissing: true })
  await from.open()
  await target.open()
  let keys = 0
  let last = null
  const failed = await walk(from, { ...JSON.parse(rangeJson), reverse: direction === 'backward' }, async (entries) => {
    await target.batch(entries.map(([key, value]) => ({ type: 'put', key, value })), { sync: true })
    keys += entries.length
    last = entries.at(-1)[0]
    say({ progress: last })
  })
  await from.close()
  await target.close()
  say({ ok: true, keys, last, failed })
}
`

export type ChildAnswer = { ok: true; [field: string]: unknown } | { ok: false; message: string; progress: string | null }

/** What a child process printed, and how it ended. */
export interface ChildRun {
  code: number | null
  signal: NodeJS.Signals | null
  out: string
  err: string
}

/** Run `node <args>` to its end, collecting its output. */
export function runNode(args: string[], cwd?: string): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, out, err }))
  })
}

/** Run one operation; a child killed by a signal (LevelDB's abort) answers ok: false. */
export async function levelChild(op: 'scan' | 'repair' | 'copy', ...args: string[]): Promise<ChildAnswer> {
  const { code, signal, out, err } = await runNode(['--input-type=module', '-e', PROGRAM, op, ...args])
  const lines = out.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { ok?: boolean; progress?: string })
  const last = lines.at(-1)
  // A child that ended by itself answers for itself: ok, or what LevelDB said (a scan that met damage).
  if (code === 0 && typeof last?.ok === 'boolean') return last.ok ? (last as ChildAnswer) : { ok: false, message: String((last as { message?: unknown }).message), progress: null }
  const progress = lines.filter((l) => l.progress !== undefined).at(-1)?.progress ?? null
  const why = signal !== null ? `LevelDB aborted the process reading it (${signal}: ${lastLine(err)})` : `LevelDB failed (exit ${code}: ${lastLine(err)})`
  return { ok: false, message: why, progress }
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter((l) => l.trim() !== '').at(-1)?.trim().slice(0, 300) ?? 'no message'
}
