// `wharf backup --path DIR --to BACKUPDIR` and `wharf restore BACKUPDIR --path DIR`: the library's
// backupStore() and restoreBackup() (storage/backup.ts, storage/restore.ts), which check their
// arguments, write into a temporary sibling and publish it whole.

import { POSTGRES_OPTIONS, positionalArgs, refusePostgres, stringOption, UsageError, type Values } from './args.js'
import { refusalOf } from './client.js'
import { EXIT_OK, type Command } from './command.js'
import { checkStorePath } from './local-client.js'
import { fields } from './output.js'
import { StorageLockedError } from '../engine/errors.js'
import { backupStore } from '../storage/backup.js'
import { restoreBackup } from '../storage/restore.js'

/** Why backup and restore refuse --postgres. */
const ON_POSTGRES = "backup and restore are of a LevelDB store on disk; a cluster's jobs live in PostgreSQL, backed up and restored with PostgreSQL's own tools (pg_dump --schema, pg_restore)"

const RESULT_FIELDS = 'JSON: { "path", "seq", "keys", "bytes", "storeId" }'

function required(values: Values, name: string): string {
  const value = stringOption(values, name)
  if (value === undefined) throw new UsageError(`missing --${name}`)
  return value
}

/** A held store refused with `lockedHint` added; every other library error goes to main(), which
 * reports it as every command's: bad input (a target inside what it copies) as usage, exit 2. */
async function refused<T>(work: () => Promise<T>, lockedHint: string): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof StorageLockedError) throw refusalOf(error, lockedHint)
    throw error
  }
}

function resultLines(what: string, r: { path: string; seq: number; keys: number; bytes: number; storeId: string }): string[] {
  return [what, ...fields([['seq', String(r.seq)], ['keys', String(r.keys)], ['bytes', String(r.bytes)], ['store id', r.storeId]])]
}

export const backupCommand: Command = {
  name: 'backup',
  summary: 'copy a store no process holds into a new backup directory',
  usage: 'wharf backup --path DIR --to BACKUPDIR [--json]',
  details: [
    '--path DIR      the store (a running app backs itself up with wharf.backup(dir))',
    '--to BACKUPDIR  new, or an empty directory; written whole or not at all',
    RESULT_FIELDS,
  ],
  options: { path: { type: 'string' }, to: { type: 'string' }, ...POSTGRES_OPTIONS },
  async run({ values, positionals, out }) {
    refusePostgres(values, ON_POSTGRES)
    positionalArgs(positionals, 'argument', 0)
    const path = required(values, 'path')
    const to = required(values, 'to')
    await checkStorePath(path)
    const result = await refused(() => backupStore(path, to), 'a running app backs its store up itself, with `await wharf.backup(dir)`')
    out.answer(result, () => resultLines(`backed up ${path} to ${result.path}`, result))
    return EXIT_OK
  },
}

export const restoreCommand: Command = {
  name: 'restore',
  summary: 'put a backup in place as a new store',
  usage: 'wharf restore BACKUPDIR --path DIR [--json]',
  details: [
    'BACKUPDIR   a backup written by wharf.backup() or `wharf backup`; checked entry by entry first',
    '--path DIR  the new store: new, or an empty directory; written whole or not at all',
    RESULT_FIELDS,
  ],
  options: { path: { type: 'string' }, ...POSTGRES_OPTIONS },
  async run({ values, positionals, out }) {
    refusePostgres(values, ON_POSTGRES)
    const [backup] = positionalArgs(positionals, 'BACKUPDIR', 1)
    const path = required(values, 'path')
    const result = await refused(() => restoreBackup(backup!, path), '')
    out.answer(result, () => resultLines(`restored ${backup} as the store ${result.path}`, result))
    return EXIT_OK
  },
}
