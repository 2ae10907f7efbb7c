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
  // The operator surface: the HTTP API and page over the public API, then the CLI over both.
  ['dashboard', (p) => p.startsWith('dashboard/')],
  ['cli', (p) => p.startsWith('cli/')],
  ['entry', (p) => ['index.ts', 'testing.ts', 'dashboard.ts', 'demo.ts', 'cli.ts'].includes(p) || p.startsWith('bench/')],
]

// Upward imports that are accepted, as 'from -> to' (paths under src) and why.
const UPWARD_ALLOWED: Record<string, string> = {
  'engine/api/wharf.ts -> dashboard/serve.ts':
    "API.md puts serveDashboard() on Wharf; a lazy import() (plus its types) keeps apps that never serve from loading the dashboard",
}

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

// STYLE.md aims at ~70 lines per function: a longer one hides more than one step.
const FUNCTION_LINES_MAX = 70

// Longer today, each capped at its length when this check came in: it may shrink (lower the
// number, or drop the entry once under the limit) but not grow.
const LONG_FUNCTIONS: Record<string, [lines: number, reason: string]> = {
  'engine/core/invariants.ts:checkInvariants': [83, 'one audit pass whose loops share the recomputed counters'],
}

type FunctionLength = { name: string; line: number; lines: number }

/**
 * Lines of every function, method, constructor, accessor and arrow: from the line of the body's
 * opening brace (or first line of an expression body) to its closing one. Names are qualified
 * by their class and enclosing functions; a function passed inline is `<anonymous>`.
 */
function functionLengths(path: string, source: string): FunctionLength[] {
  const file = ts.createSourceFile(path, source, ts.ScriptTarget.Latest, true)
  const lineOf = (pos: number): number => file.getLineAndCharacterOfPosition(pos).line + 1
  const found: FunctionLength[] = []
  const visit = (node: ts.Node, scope: string[]): void => {
    let inner = scope
    if (ts.isClassLike(node)) inner = [...scope, node.name?.text ?? '<anonymous>']
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const body = node.body as ts.Node
      inner = [...scope, nameOf(node)]
      const line = lineOf(body.getStart(file))
      found.push({ name: inner.join('.'), line, lines: lineOf(body.getEnd()) - line + 1 })
    }
    ts.forEachChild(node, (child) => visit(child, inner))
  }
  visit(file, [])
  return found
}

function nameOf(node: ts.SignatureDeclaration): string {
  if (ts.isConstructorDeclaration(node)) return 'constructor'
  const parent = node.parent
  const assignedTo = ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)
  const named = node.name ?? (assignedTo ? parent.name : undefined)
  return named !== undefined && (ts.isIdentifier(named) || ts.isStringLiteral(named) || ts.isPrivateIdentifier(named)) ? named.text : '<anonymous>'
}

/** Functions over the limit, or over the length recorded for them in `allowed`. */
function tooLong(files: Map<string, string>, allowed: Record<string, [number, string]>): string[] {
  const found: string[] = []
  for (const [path, source] of files) {
    for (const f of functionLengths(path, source)) {
      const max = allowed[`${path}:${f.name}`]?.[0] ?? FUNCTION_LINES_MAX
      if (f.lines > max) found.push(`${path}:${f.name} (line ${f.line}) has ${f.lines} lines, at most ${max}`)
    }
  }
  return found
}

describe(`functions stay within ${FUNCTION_LINES_MAX} lines`, () => {
  const files = readSources()

  it('no function grows past the limit, or past the length recorded for an old long one', () => {
    expect(tooLong(files, LONG_FUNCTIONS)).toEqual([])
  })

  it('every recorded long function still exists and is still over the limit', () => {
    const over = new Set<string>()
    for (const [path, source] of files) {
      for (const f of functionLengths(path, source)) if (f.lines > FUNCTION_LINES_MAX) over.add(`${path}:${f.name}`)
    }
    expect(Object.keys(LONG_FUNCTIONS).filter((key) => !over.has(key))).toEqual([])
  })

  it('the check itself measures every kind of function and catches a long one', () => {
    const lines = (n: number): string => 'x++\n'.repeat(n - 2)
    const source = [
      `function ok() {\n${lines(70)}}`,
      `function long() {\n${lines(71)}}`,
      `class C {\n  constructor() {\n${lines(71)}}\n  m() {\n${lines(72)}}\n  get g() {\n${lines(71)}}\n}`,
      `const arrow = () => {\n${lines(71)}}`,
      `const expr = function () {\n${lines(71)}}`,
      `run(() => {\n${lines(71)}})`,
      `const body = () =>\n  [\n${lines(71)}]`,
    ].join('\n')
    const found = tooLong(new Map([['x.ts', source]]), { 'x.ts:C.m': [72, 'planted'], 'x.ts:C.constructor': [70, 'planted, then grew'] })
    expect(found.map((line) => line.slice(0, line.indexOf(' (')))).toEqual([
      'x.ts:long',
      'x.ts:C.constructor',
      'x.ts:C.g',
      'x.ts:arrow',
      'x.ts:expr',
      'x.ts:<anonymous>',
      'x.ts:body',
    ])
  })
})
