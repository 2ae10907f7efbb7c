// Proves that what the CLI prints for people is text a terminal shows, not obeys: job data (a
// description, an exception's message) comes from the app or from whatever service it called,
// and an escape sequence in it recoloured, hid or rewrote the operator's screen, and a line break
// in a description started a line that read as another field of `wharf show`. --json, which
// escapes them itself, is unchanged.
import { describe, expect, it } from 'vitest'
import { displayWidth } from '../../src/cli/display-width.js'
import { cut, fields, Output, table } from '../../src/cli/output.js'

const HOSTILE = 'Sync\x1b[2J\x1b]52;c;cm0gLXJmIH4=\x07 partner\nstate:       done\r\x9b31m\x7f'

/** What a terminal receives: the text as UTF-8 (a lone surrogate becomes U+FFFD). */
const asUtf8 = (text: string): string => Buffer.from(text, 'utf8').toString('utf8')

function printed(json: boolean, doc: unknown, lines: string[]): string {
  let out = ''
  new Output(json, { write: (text: string) => (out += text) }, { write: () => {} }).answer(doc, () => lines)
  return out
}

describe('the CLI output for people', () => {
  it('writes control characters of job data as escapes, on the line they came in', () => {
    const out = printed(false, null, fields([['uuid', 'j-1'], ['description', HOSTILE]]))
    expect(out).toBe('uuid:        j-1\ndescription: Sync\\u001b[2J\\u001b]52;c;cm0gLXJmIH4=\\u0007 partner\\nstate:       done\\r\\u009b31m\\u007f\n')
    expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/)
  })

  it('aligns a table on the escaped text, and keeps tabs and ordinary text as they are', () => {
    const lines = table([{ header: 'UUID' }, { header: 'DESCRIPTION' }], [['j-1', 'a\x1bb'], ['j-22', 'plain\ttab']])
    expect(lines).toEqual(['UUID  DESCRIPTION', 'j-1   a\\u001bb', 'j-22  plain\ttab'])
  })

  // An emoji is two UTF-16 units: cut between them, a cell kept half of one, which a terminal
  // shows as U+FFFD (written to stdout as UTF-8, a lone surrogate has no encoding).
  it('cuts a long cell before a character, never inside one', () => {
    const cell = cut('a'.repeat(8) + '😀😀', 10)
    expect(cell).toBe('a'.repeat(8) + '…')
    expect(asUtf8(cell)).toBe(cell)
    expect(cut('a'.repeat(7) + '😀😀', 10)).toBe('a'.repeat(7) + '😀…')
    const [, row] = table([{ header: 'D', max: 10 }], [['a'.repeat(8) + '😀 and more']])
    expect(asUtf8(row!)).toBe(row)
  })

  it('leaves --json as JSON, which escapes them itself', () => {
    expect(JSON.parse(printed(true, { description: HOSTILE }, []))).toEqual({ description: HOSTILE })
  })

  // Padded by string length, a column after a CJK or emoji cell started further right on its line
  // (each such character is two columns but one or two UTF-16 units), and after an accent written
  // as a combining mark further left (two units, one column).
  it('aligns columns by terminal width: CJK and emoji take two columns, a combining mark none', () => {
    const rows = [['報告書を作成', 'done'], ['😀 party', 'failed'], ['plain', 'pending'], ['e\u0301te\u0301', 'x']]
    const lines = table([{ header: 'NAME' }, { header: 'STATE' }], rows)
    expect(lines).toEqual([
      'NAME          STATE',
      '報告書を作成  done',
      '😀 party      failed',
      'plain         pending',
      'e\u0301te\u0301           x',
    ])
    // Every line's second column starts at the same terminal column.
    const starts = lines.map((line, i) => displayWidth(line.slice(0, line.lastIndexOf(i === 0 ? 'STATE' : rows[i - 1]![1]!))))
    expect(new Set(starts)).toEqual(new Set([14]))
    const right = table([{ header: 'N', right: true }, { header: 'NAME' }], [['１２', 'wide'], ['3', 'narrow']])
    expect(right).toEqual(['   N  NAME', '１２  wide', '   3  narrow'])
  })

  it('cuts a wide cell to its columns, a wide character left out whole', () => {
    expect(cut('報告書を作成', 7)).toBe('報告書…')
    expect(cut('報告書を作成', 8)).toBe('報告書…') // 'を' would take columns 7 and 8, past the room left
    expect(cut('報告書を作成', 12)).toBe('報告書を作成')
    const [, row] = table([{ header: 'D', max: 10 }, { header: 'E' }], [['日本語の説明文です', 'next']])
    expect(row).toBe('日本語の…  next')
  })

  it('counts the columns of CJK, Hangul, fullwidth, emoji and marks as wcwidth(3) does', () => {
    expect(displayWidth('日本')).toBe(4)
    expect(displayWidth('한국어')).toBe(6)
    expect(displayWidth('ＡＢ')).toBe(4) // fullwidth
    expect(displayWidth('ｱｲ')).toBe(2) // halfwidth katakana
    expect(displayWidth('😀')).toBe(2)
    expect(displayWidth('✅')).toBe(2) // an emoji in the BMP
    expect(displayWidth('❤')).toBe(1) // text presentation by default…
    expect(displayWidth('e\u0301')).toBe(1)
    expect(displayWidth('a\u200bb')).toBe(2)
    expect(displayWidth('café, naïve')).toBe(11)
  })
})
