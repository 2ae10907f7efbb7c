// `wharf verify --path DIR`: check a store that no process holds, without changing it
// (verify-store.ts), print what was checked and every problem; exit 1 on any problem.

import { POSTGRES_OPTIONS, positionalArgs, refusePostgres, stringOption, UsageError } from './args.js'
import { EXIT_OK, EXIT_REFUSED, type Command } from './command.js'
import { fields } from './output.js'
import { checkStore, type StoreCheck } from './verify-store.js'

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'check a store: every log record, the replay and its invariants, history, the end-of-log mark',
  usage: 'wharf verify --path DIR [--json]',
  details: [
    '--path DIR  the store; no process may hold it. It is read through a private copy and never changed.',
    'Exit code 0 when nothing is wrong, 1 when any problem is found (each is printed).',
    'A backup (a directory holding WHARF-BACKUP) is also compared with its manifest, entry by entry, as wharf restore compares it.',
    'JSON: { "ok", "path", "log": { records, events, floorSeq, lastSeq, snapshotSeq } | null, "markSeq", "finished", "live",',
    '        "backup": { manifest: "matches" | "differs" | "unreadable", keys, seq } | null, "problems": [...] }',
  ],
  options: { path: { type: 'string' }, ...POSTGRES_OPTIONS },
  async run({ values, positionals, out }) {
    refusePostgres(values, "verify checks a LevelDB store on disk; a cluster's log is in PostgreSQL, whose own commits and checks keep it (wharf stats --postgres and wharf jobs --postgres read it)")
    positionalArgs(positionals, 'argument', 0)
    const path = stringOption(values, 'path')
    if (path === undefined) throw new UsageError('missing --path')
    const check = await checkStore(path)
    const ok = check.problems.length === 0
    out.answer({ ok, ...check }, () => report(check))
    return ok ? EXIT_OK : EXIT_REFUSED
  },
}

function manifestLine(backup: NonNullable<StoreCheck['backup']>): string {
  return backup.manifest === 'matches' ? `matches (${backup.keys} entries, seq ${backup.seq})` : `${backup.manifest} (below)`
}

function report(check: StoreCheck): string[] {
  const log = check.log
  const seqs = log === null ? '-' : log.lastSeq === log.floorSeq ? 'none' : `${log.floorSeq + 1}..${log.lastSeq}`
  const lines = [
    `store ${check.path}`,
    ...fields([
      ['log records', log === null ? '-' : `${log.records} (${log.events} events)`],
      ['seqs', log === null ? '-' : `${seqs}${log.floorSeq > 0 ? ` (compacted up to ${log.floorSeq})` : ''}`],
      ['snapshot', log?.snapshotSeq == null ? 'none' : `at seq ${log.snapshotSeq}`],
      ['end-of-log mark', check.markSeq === null ? 'none' : `seq ${check.markSeq}`],
      ['jobs live', check.live === null ? '-' : `${check.live} (replayed, invariants hold)`],
      ['jobs finished', check.finished === null ? '-' : `${check.finished} (history views)`],
      ...(check.backup === null ? [] : [['backup manifest', manifestLine(check.backup)] as [string, string]]),
    ]),
  ]
  if (check.problems.length === 0) return [...lines, 'ok: no problem found']
  return [...lines, `${check.problems.length} problem(s):`, ...check.problems.map((p) => `- ${p}`)]
}
