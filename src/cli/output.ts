// What the CLI prints: tables and key/value lines for people, or exactly one JSON document for
// scripts (--json). Every command hands its answer here as data and a way to show it, so the two
// forms never drift apart; errors and usage go to stderr, answers to stdout. Widths are terminal
// columns (display-width.ts), not string lengths: CJK and emoji take two, combining marks none.

import { charWidth, displayWidth } from './display-width.js'

/** Where the CLI writes; process.stdout/stderr in the real command. */
export interface Sink {
  write(text: string): unknown
}

/** A cell wider than this many columns is cut (a column may set its own width). */
export const CELL_WIDTH_MAX = 60
const ELLIPSIS = '…'

export interface Column {
  header: string
  /** Cut cells at this many columns (default CELL_WIDTH_MAX). */
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
  const widths = columns.map((c, i) => Math.max(displayWidth(c.header), ...cells.map((r) => displayWidth(r[i]!))))
  const line = (row: readonly string[]): string =>
    row
      .map((cell, i) => {
        const last = i === row.length - 1
        const gap = ' '.repeat(widths[i]! - displayWidth(cell))
        if (columns[i]!.right) return gap + cell
        return last ? cell : cell + gap
      })
      .join('  ')
      .trimEnd()
  return [line(columns.map((c) => c.header)), ...cells.map(line)]
}

/** `label: value` lines, labels padded to the longest. */
export function fields(pairs: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(0, ...pairs.map(([label]) => displayWidth(label)))
  return pairs.map(([label, value]) => `${label}:${' '.repeat(width - displayWidth(label))} ${value}`.trimEnd())
}

/** `text` cut to at most `max` columns, the last one an ellipsis. By code point: never between
 * the two halves of a surrogate pair (an emoji), half of which prints as U+FFFD; a character too
 * wide for the room left is left out whole, and the marks that follow a kept one stay with it. */
export function cut(text: string, max: number): string {
  if (displayWidth(text) <= max) return text
  const room = Math.max(0, max - 1)
  let kept = ''
  let width = 0
  for (const char of text) {
    const w = charWidth(char)
    if (width + w > room) break
    kept += char
    width += w
  }
  return kept + ELLIPSIS
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
