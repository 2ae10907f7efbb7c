// Style rules checked by reading the sources: the core is pure, every import goes down the layers
// (or stays in its own), and functions stay short. Each check is also run on a planted breach.
import { readdirSync, readFileSync } from 'node:fs'
import { join, posix, relative, sep } from 'node:path'
import ts from 'typescript'
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

// Bottom to top. errors.ts holds the typed refusals every layer throws, so it counts as the bottom.
const LAYERS: [name: string, holds: (path: string) => boolean][] = [
  ['core', (p) => p === 'engine/errors.ts' || p.startsWith('engine/core/')],
  ['storage', (p) => p.startsWith('storage/')],
  ['runtime', (p) => p.startsWith('engine/runtime/')],
  ['api', (p) => p.startsWith('engine/api/')],
  ['testing', (p) => p.startsWith('engine/testing/')],
  ['entry', (p) => ['index.ts', 'testing.ts', 'demo.ts'].includes(p) || p.startsWith('bench/')],
]

// Upward imports that are accepted, as 'from -> to' (paths under src) and why. None today.
const UPWARD_ALLOWED: Record<string, string> = {}

const SRC = join(import.meta.dirname, '../../src')

/** Every .ts file under src, keyed by its path relative to src with forward slashes. */
function readSources(): Map<string, string> {
  const files = new Map<string, string>()
  for (const entry of readdirSync(SRC, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue
    const full = join(entry.parentPath, entry.name)
    files.set(relative(SRC, full).split(sep).join('/'), readFileSync(full, 'utf8'))
  }
  return files
}

/** Module specifiers of import/export-from declarations, import() calls and import('…') types. */
function specifiersOf(path: string, source: string): string[] {
  const found: string[] = []
  const visit = (node: ts.Node): void => {
    let spec: ts.Node | undefined
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) spec = node.moduleSpecifier
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) spec = node.arguments[0]
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) spec = node.argument.literal
    if (spec !== undefined && ts.isStringLiteral(spec)) found.push(spec.text)
    ts.forEachChild(node, visit)
  }
  visit(ts.createSourceFile(path, source, ts.ScriptTarget.Latest, true))
  return found
}

function layerOf(path: string): number {
  return LAYERS.findIndex(([, holds]) => holds(path))
}

/** Relative imports as 'from -> to', paths under src (a target outside src starts with '../'). */
function importEdges(files: Map<string, string>): [from: string, to: string][] {
  const edges: [string, string][] = []
  for (const [path, source] of files) {
    for (const spec of specifiersOf(path, source)) {
      if (!spec.startsWith('.')) continue // packages and node:*; the core's are checked above
      edges.push([path, posix.normalize(posix.join(posix.dirname(path), spec)).replace(/\.js$/, '.ts')])
    }
  }
  return edges
}

/** Every import that reaches a higher layer, or a file in no layer (test code, a new folder). */
function upwardImports(files: Map<string, string>): string[] {
  const found: string[] = []
  for (const [from, to] of importEdges(files)) {
    const [fromLayer, toLayer] = [layerOf(from), layerOf(to)]
    if (fromLayer === -1 || toLayer === -1) found.push(`${from} -> ${to} (not in any layer)`)
    else if (toLayer > fromLayer) found.push(`${from} -> ${to} (${LAYERS[fromLayer]![0]} imports ${LAYERS[toLayer]![0]})`)
  }
  return found
}

describe('imports go down the layers: core, storage, runtime, api, testing, entry files', () => {
  const files = readSources()
  const upward = upwardImports(files)
  const edge = (line: string): string => line.slice(0, line.indexOf(' ('))

  it('reads every source file and resolves every relative import to one', () => {
    expect(files.size).toBeGreaterThan(50)
    const unresolved = importEdges(files).filter(([, to]) => !to.startsWith('../') && !files.has(to))
    expect(unresolved).toEqual([])
  })

  it('no file imports from a higher layer, or from outside src', () => {
    expect(upward.filter((line) => !(edge(line) in UPWARD_ALLOWED))).toEqual([])
  })

  it('every accepted exception still happens', () => {
    const found = new Set(upward.map(edge))
    expect(Object.keys(UPWARD_ALLOWED).filter((e) => !found.has(e))).toEqual([])
  })

  it('the check itself catches upward imports of every form, and passes downward ones', () => {
    const planted = new Map([
      ['engine/core/a.ts', "import type { Engine } from '../runtime/engine.js'\nimport { fail } from '../errors.js'"],
      ['storage/b.ts', "import type { State } from '../engine/core/state.js'\nexport * from '../engine/api/wharf.js'"],
      ['engine/runtime/c.ts', "const m = await import('../testing/trap.js')\nlet t: import('../../index.js').Wharf"],
      ['engine/api/d.ts', "import { seededRandom } from '../../../test/sim/prng.js'\nimport { Engine } from '../runtime/engine.js'"],
    ])
    expect(upwardImports(planted)).toEqual([
      'engine/core/a.ts -> engine/runtime/engine.ts (core imports runtime)',
      'storage/b.ts -> engine/api/wharf.ts (storage imports api)',
      'engine/runtime/c.ts -> engine/testing/trap.ts (runtime imports testing)',
      'engine/runtime/c.ts -> index.ts (runtime imports entry)',
      'engine/api/d.ts -> ../test/sim/prng.ts (not in any layer)',
    ])
  })
})
