// Small helpers shared by the unit tests (not a test file itself).

/** Runs `f` and returns what it threw or rejected with; fails when nothing was thrown. */
export async function failure(f: () => unknown): Promise<unknown> {
  try {
    await f()
  } catch (error) {
    return error
  }
  throw new Error('expected an error, nothing was thrown')
}
