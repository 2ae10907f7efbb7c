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
//   scan <path>          read every entry, and the keys Wharf reads by point lookup
//   repair <path>        ClassicLevel.repair (LevelDB's RepairDB): salvage every readable entry
//   copy <from> <to>     copy every readable entry into a new database: forward until LevelDB
//                        fails, then backward from the end down to where the forward pass stopped
// Each prints one JSON line: {"ok":true,…} or {"ok":false,"message"}.

import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'

const CLASSIC_LEVEL = pathToFileURL(createRequire(import.meta.url).resolve('classic-level')).href
/** Entries per native round trip and per copied batch. */
const CHUNK = 1000

const PROGRAM = `
const { ClassicLevel } = await import(${JSON.stringify(CLASSIC_LEVEL)})
const [op, path, to] = process.argv.slice(1)
const options = { keyEncoding: 'utf8', valueEncoding: 'view', createIfMissing: false }
const say = (answer) => process.stdout.write(JSON.stringify(answer) + '\\n')
const corruption = (error) => { if (error?.code !== 'LEVEL_CORRUPTION') throw error; return error.message }
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
  let failed = await walk(db, {}, async () => {})
  for (const key of ['s', 'm:floor', 'm:id', 'h\\x00complete']) if (failed === null) await db.get(key).catch((e) => (failed = corruption(e)))
  await db.close()
  say(failed === null ? { ok: true } : { ok: false, message: failed })
} else if (op === 'copy') {
  const from = new ClassicLevel(path, options)
  const target = new ClassicLevel(to, { ...options, createIfMissing: true, errorIfExists: true })
  await from.open()
  await target.open()
  let keys = 0
  let last = null
  const put = async (entries) => {
    await target.batch(entries.map(([key, value]) => ({ type: 'put', key, value })), { sync: true })
    keys += entries.length
  }
  const forward = await walk(from, {}, async (entries) => { last = entries.at(-1)[0]; await put(entries) })
  let first = null
  const backward = forward === null ? null : await walk(from, { reverse: true, ...(last === null ? {} : { gt: last }) }, async (entries) => { first = entries.at(-1)[0]; await put(entries) })
  await from.close()
  await target.close()
  say({ ok: true, keys, unreadable: forward === null ? null : { after: last, before: first, message: forward, alsoBackward: backward } })
}
`

export type ChildAnswer = { ok: true; [field: string]: unknown } | { ok: false; message: string }

/** Run one operation; a child killed by a signal (LevelDB's abort) answers ok: false. */
export function levelChild(op: 'scan' | 'repair' | 'copy', ...paths: string[]): Promise<ChildAnswer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', PROGRAM, op, ...paths], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      const line = out.trim().split('\n').at(-1)
      if (code === 0 && line !== undefined && line !== '') return resolve(JSON.parse(line) as ChildAnswer)
      const why = signal !== null ? `LevelDB aborted the process reading it (${signal}: ${lastLine(err)})` : `LevelDB failed (exit ${code}: ${lastLine(err)})`
      resolve({ ok: false, message: why })
    })
  })
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter((l) => l.trim() !== '').at(-1)?.trim().slice(0, 300) ?? 'no message'
}
