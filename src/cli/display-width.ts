// How many terminal columns text takes, for the CLI's tables: a table padded by string length
// misaligns on CJK (two columns a character) and on emoji (two columns, two UTF-16 units, or one
// code point and a variation selector), and on accents written as combining marks (no column).
// Counted per code point, as wcwidth(3) does and terminals place the cursor by; a sequence joined
// by ZWJ (a family emoji) is the sum of its parts, as most terminals draw it. Control characters
// never reach here (output.ts escapes them first); a tab counts as one.

/** No column: combining marks (Mn, Me: accents, variation selectors), zero-width space, ZWNJ,
 * ZWJ, the direction marks, word joiner, and the byte-order mark. */
const ZERO_WIDTH = /[\p{Mn}\p{Me}\u200B-\u200F\u2060\uFEFF]/u

/** Two columns: emoji shown as emoji by default (Emoji_Presentation, East Asian Wide since
 * Unicode 9), and the East Asian Wide (W) and Fullwidth (F) blocks of EastAsianWidth.txt below. */
const EMOJI = /\p{Emoji_Presentation}/u

/** East Asian Wide and Fullwidth ranges (first, last), in order; a block's few narrow or unassigned
 * code points are let in with it (they are not in job names). */
const WIDE: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f], // Hangul Jamo leading consonants
  [0x2e80, 0x303e], // CJK Radicals, Kangxi Radicals, Ideographic Description, CJK Symbols and Punctuation
  [0x3041, 0x33ff], // Hiragana, Katakana, Bopomofo, Hangul Compatibility Jamo, Kanbun, CJK Strokes, Enclosed CJK, CJK Compatibility
  [0x3400, 0x4dbf], // CJK Unified Ideographs Extension A
  [0x4e00, 0x9fff], // CJK Unified Ideographs
  [0xa000, 0xa4cf], // Yi Syllables and Radicals
  [0xa960, 0xa97f], // Hangul Jamo Extended-A
  [0xac00, 0xd7a3], // Hangul Syllables
  [0xf900, 0xfaff], // CJK Compatibility Ideographs
  [0xfe10, 0xfe19], // Vertical Forms
  [0xfe30, 0xfe6f], // CJK Compatibility Forms, Small Form Variants
  [0xff00, 0xff60], // Fullwidth ASCII variants and punctuation
  [0xffe0, 0xffe6], // Fullwidth signs (cent, pound, yen…)
  [0x16fe0, 0x18cff], // Ideographic Symbols, Tangut, Khitan
  [0x1b000, 0x1b2ff], // Kana Supplement and Extended, Nushu
  [0x1f200, 0x1f2ff], // Enclosed Ideographic Supplement
  [0x20000, 0x3fffd], // CJK Unified Ideographs Extension B and later (planes 2 and 3)
]

/** The columns `text` takes on a terminal. */
export function displayWidth(text: string): number {
  let width = 0
  for (const char of text) width += charWidth(char)
  return width
}

/** The columns one code point (`char`, one or two UTF-16 units) takes: 0, 1 or 2. */
export function charWidth(char: string): number {
  const code = char.codePointAt(0)!
  if (code < 0x300) return 1 // ASCII and Latin-1: no mark, nothing wide (the common case, quickly)
  if (ZERO_WIDTH.test(char)) return 0
  return EMOJI.test(char) || isWide(code) ? 2 : 1
}

function isWide(code: number): boolean {
  for (const [first, last] of WIDE) {
    if (code < first) return false
    if (code <= last) return true
  }
  return false
}
