// What the CLI prints: tables and key/value lines for people, or exactly one JSON document for
// scripts (--json). Every command hands its answer here as data and a way to show it, so the two
// forms never drift apart; errors and usage go to stderr, answers to stdout.

/** Where the CLI writes; process.stdout/stderr in the real command. */
export interface Sink {
  write(text: string): unknown
}

/** A cell longer than this is cut (a column may set its own width). */
export const CELL_WIDTH_MAX = 60
const ELLIPSIS = '…'

export interface Column {
  header: string
  /** Cut cells at this many characters (default CELL_WIDTH_MAX). */
  max?: number
  /** Right-align (numbers). */
  right?: boolean
}

export class Output {
  constructor(
    readonly json: boolean,
    private readonly out: Sink,
    private readonly err: Sink,
  ) {}

  /** The command's answer: `doc` as JSON with --json, else the lines `show` returns. */
  answer(doc: unknown, show: () => string[]): void {
    if (this.json) this.out.write(JSON.stringify(doc, null, 2) + '\n')
    else for (const line of show()) this.out.write(visible(line) + '\n')
  }

  /** A line for people that is not the answer (progress, hints): stderr, so stdout stays clean. */
  note(line: string): void {
    this.err.write(visible(line) + '\n')
  }
}

/** Control characters other than tab (C0, DEL, C1). */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g

/**
 * A line as text a terminal shows and does not obey: job data (a description, an exception's
 * message, a result) is whatever the app or a remote service put there, and an escape sequence
 * in it would recolour, hide or rewrite what the operator reads (or set the clipboard); a line
 * break would start a line that looks like another field. Each is written as its JSON escape.
 */
export function visible(line: string): string {
  return line.replace(CONTROL, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))
}

/** One line per row, columns padded to their widest cell; the last column is not padded. */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[]): string[] {
  const cells = rows.map((row) => columns.map((c, i) => cut(visible(oneLine(row[i] ?? '')), c.max ?? CELL_WIDTH_MAX)))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)))
  const line = (row: readonly string[]): string =>
    row
      .map((cell, i) => {
        const last = i === row.length - 1
        if (columns[i]!.right) return cell.padStart(widths[i]!)
        return last ? cell : cell.padEnd(widths[i]!)
      })
      .join('  ')
      .trimEnd()
  return [line(columns.map((c) => c.header)), ...cells.map(line)]
}

/** `label: value` lines, labels padded to the longest. */
export function fields(pairs: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(0, ...pairs.map(([label]) => label.length))
  return pairs.map(([label, value]) => `${(label + ':').padEnd(width + 1)} ${value}`.trimEnd())
}

/** `text` cut to `max` characters, the last one an ellipsis. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text
  let end = Math.max(0, max - 1)
  // Not between the two halves of a surrogate pair (an emoji): half of one prints as U+FFFD.
  if (end > 0 && isHighSurrogate(text.charCodeAt(end - 1))) end--
  return text.slice(0, end) + ELLIPSIS
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ')
}

/** A time in ms since epoch as UTC ISO 8601 to the second; '-' for none. */
export function time(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-'
  const date = new Date(ms)
  // A store written before etas were bounded (TIME_MS_MAX) may hold one no Date can show.
  if (Number.isNaN(date.getTime())) return String(ms)
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** Any JSON value for a cell or a field: strings as they are, null as '-', the rest as JSON. */
export function text(value: unknown): string {
  if (value === null || value === undefined) return '-'
  if (typeof value === 'string') return value
  return JSON.stringify(value)
}
