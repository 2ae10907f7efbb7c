// new LevelLog(path, options)'s checks: LevelLog is exported for apps that build their own log,
// and a misspelt option there must not quietly mean another one ({ durability: 'sync' } would
// write without fsync, a typo of a key would be dropped). Refused with the bad value named.

import { describe } from '../engine/core/describe.js'
import { InvalidPropertyError } from '../engine/errors.js'

const CHOICES: Readonly<Record<string, readonly string[]>> = { durability: ['process', 'fsync'], onCorruption: ['throw', 'truncate'] }
const KINDS: Readonly<Record<string, 'function' | 'boolean'>> = { onWarning: 'function', scrubHistory: 'boolean', refuseBackup: 'boolean' }
const KNOWN = [...Object.keys(CHOICES), ...Object.keys(KINDS)]

export function checkLevelLogArgs(path: unknown, options: unknown): void {
  if (typeof path !== 'string' || path.length === 0) {
    throw new InvalidPropertyError(`new LevelLog(): path must be a directory path, got ${describe(path)}`)
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidPropertyError(`new LevelLog(): options must be an object, got ${describe(options)}`)
  }
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue
    const choices = CHOICES[key]
    const kind = KINDS[key]
    if (choices === undefined && kind === undefined) {
      throw new InvalidPropertyError(`new LevelLog(): unknown option ${JSON.stringify(key)}; known: ${KNOWN.join(', ')}`)
    }
    if (choices !== undefined && !choices.includes(value as string)) {
      throw new InvalidPropertyError(`new LevelLog(): ${key} must be ${choices.map((c) => `'${c}'`).join(' or ')}, got ${describe(value)}`)
    }
    if (kind !== undefined && typeof value !== kind) {
      throw new InvalidPropertyError(`new LevelLog(): ${key} must be a ${kind}, got ${describe(value)}`)
    }
  }
}
