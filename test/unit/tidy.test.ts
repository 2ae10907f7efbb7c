// The core is pure (DESIGN §1): no file under src/engine/core reads the clock, draws random
// numbers, sets timers or imports node:*, storage or the runtime. This test reads the sources.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const CORE = join(import.meta.dirname, '../../src/engine/core')
const FORBIDDEN: [RegExp, string][] = [
  [/\bDate\.now\b/, 'Date.now'],
  [/\bnew Date\(/, 'new Date('],
  [/\bMath\.random\b/, 'Math.random'],
  [/\bperformance\.now\b/, 'performance.now'],
  [/\bset(Timeout|Interval|Immediate)\b/, 'timers'],
  [/\bprocess\./, 'process'],
  [/\bcrypto\b/, 'crypto'],
  [/from ['"]node:/, 'node: imports'],
  [/from ['"](?!\.\/|\.\.\/errors\.js)/, 'imports of packages'],
  [/from ['"]\.\.\/(runtime|api|testing)\b|from ['"]\.\.\/\.\.\/storage/, 'imports of the shell or storage'],
]

function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
}

describe('the core stays pure', () => {
  const files = readdirSync(CORE).filter((f) => f.endsWith('.ts'))

  it('has source files to check', () => {
    expect(files.length).toBeGreaterThan(8)
  })

  for (const file of files) {
    it(`${file} reads no clock, randomness, timers or I/O`, () => {
      const code = stripComments(readFileSync(join(CORE, file), 'utf8'))
      const found = FORBIDDEN.filter(([pattern]) => pattern.test(code)).map(([, name]) => name)
      expect(found).toEqual([])
    })
  }

  it('the check itself catches a forbidden call', () => {
    const code = stripComments('const t = Date.now() // fine in a comment: Math.random')
    expect(FORBIDDEN.filter(([p]) => p.test(code)).map(([, n]) => n)).toEqual(['Date.now'])
  })
})
