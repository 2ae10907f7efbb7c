// Which of this process's handler runs a call comes from. A handler that awaits idle(), stop(),
// drain() or close() of its own Wharf would wait for its own run to end, which waits for that
// call: the two never end. Telling a handler's calls apart with AsyncLocalStorage costs every
// promise of the app on Node 20; V8's async stack traces cost nothing until read. The runner calls
// each handler through a function named after its try (runFrameName), and awaits the handler's
// promise there, so that name is on the stack of every call the handler makes, before its first
// await or after it, through async functions of its own. A call made outside that chain (a
// timer's or event's callback, a promise's then) does not carry it: it is not the handler's wait.

const PREFIX = 'wharf handler '

/** The name of the frames that call and await try `seq` of runner `runner`. */
export function runFrameName(runner: number, seq: number): string {
  return `${PREFIX}${runner}/${seq}`
}

/** The tries of runner `runner` whose frames are on the current (async) stack. */
export function runsOnStack(runner: number): number[] {
  const own = `${PREFIX}${runner}/`
  const seqs: number[] = []
  for (const name of functionNames()) if (name !== null && name.startsWith(own)) seqs.push(Number(name.slice(own.length)))
  return seqs
}

/** The function names of the current stack, async frames included, however the app formats
 * stacks (a source-map hook replaces Error.prepareStackTrace: it is set aside for this read). */
function functionNames(): (string | null)[] {
  const prepare = Error.prepareStackTrace
  const limit = Error.stackTraceLimit
  const holder: { stack?: unknown } = {}
  try {
    Error.prepareStackTrace = (_error, sites) => sites.map((site) => site.getFunctionName())
    Error.stackTraceLimit = Infinity
    Error.captureStackTrace(holder)
    const names = holder.stack // read here: V8 formats the stack when it is first read
    return Array.isArray(names) ? (names as (string | null)[]) : []
  } finally {
    Error.prepareStackTrace = prepare
    Error.stackTraceLimit = limit
  }
}
