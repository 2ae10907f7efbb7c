// Assertions are the specification of the core: a failure here is a bug in Wharf, never bad
// user input (that is refused earlier, in api/, with a typed WharfError). They stay on in
// production: a scheduler that has lost track of a job must stop, not guess.

export class AssertionError extends Error {
  readonly code = 'ASSERTION'
  constructor(message: string) {
    super(`wharf invariant violated: ${message}`)
    this.name = 'AssertionError'
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message)
}

export function assertNever(value: never, what: string): never {
  throw new AssertionError(`unexpected ${what}: ${JSON.stringify(value)}`)
}

/** Throw an AssertionError. Hot paths write `if (!cond) fail(\`…\`)` so the message is only
 * built when the check fails. */
export function fail(message: string): never {
  throw new AssertionError(message)
}
