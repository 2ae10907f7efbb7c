// Text Wharf bounds (a progress message, an exception's message and stack) is cut at a number of
// UTF-16 units, never between the two halves of a surrogate pair: a lone half is not a character.

/** `text`, or its first `max` UTF-16 units (one fewer if the last would be half of a pair). */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text
  const high = text.charCodeAt(max - 1)
  return text.slice(0, high >= 0xd800 && high <= 0xdbff ? max - 1 : max)
}
