// Which of this process's handler runs a call comes from. A handler that awaits idle(), stop(),
// drain() or close() of its own Wharf would wait for its own run to end, which waits for that
// call: the two never end. Telling a handler's calls apart with AsyncLocalStorage costs every
// promise of the app on Node 20; V8's async stack traces cost nothing until read. The runner calls
// each handler through a function named after its slot (RunFrames), and awaits the handler's
// promise there, so that name is on the stack of every call the handler makes, before its first
// await or after it, through async functions of its own. A call made outside that chain (a
// timer's or event's callback, a promise's then) does not carry it: it is not the handler's wait.
// The frames are named after a slot the try holds while its handler runs (RunFrames), not after
// the try itself: they are made once, not for each job.

const PREFIX = 'wharf handler '

/** What a wait frame hands back once the handler's promise settled. */
export type Settled<A> = (attempt: A, ok: boolean, valueOrError: unknown) => void

/** The two frames of a slot: one calls the handler, one awaits its promise. */
export interface RunFrame<A> {
  call(handler: (...args: never[]) => unknown, self: unknown, args: readonly unknown[]): unknown
  wait(promise: Promise<unknown>, settled: Settled<A>, attempt: A): Promise<void>
}

/**
 * The named frames of runner `runner`, by slot. A slot is taken by a try as its handler is called
 * and given back once its promise settled (at once for a handler that returned no promise), so
 * there are as many as handlers ever ran at once, each made once: naming a frame per try cost each
 * job two functions and two objects (a quarter of an in-memory lifecycle's speed).
 */
export class RunFrames<A> {
  private readonly frames: RunFrame<A>[] = []
  /** The try holding each slot, null when free. */
  private readonly holders: (A | null)[] = []
  private readonly free: number[] = []

  constructor(private readonly runner: number) {}

  take(attempt: A): number {
    const slot = this.free.pop() ?? this.frames.push(frameNamed(`${PREFIX}${this.runner}/${this.frames.length}`)) - 1
    this.holders[slot] = attempt
    return slot
  }

  frame(slot: number): RunFrame<A> {
    return this.frames[slot]!
  }

  release(slot: number): void {
    this.holders[slot] = null
    this.free.push(slot)
  }

  /** The tries whose frames are on the current (async) stack. */
  onStack(): A[] {
    if (this.free.length === this.frames.length) return []
    const own = `${PREFIX}${this.runner}/`
    const tries: A[] = []
    for (const name of functionNames()) {
      if (name === null || !name.startsWith(own)) continue
      const attempt = this.holders[Number(name.slice(own.length))]
      if (attempt != null && !tries.includes(attempt)) tries.push(attempt)
    }
    return tries
  }
}

function frameNamed<A>(name: string): RunFrame<A> {
  return {
    call: { [name]: (handler: (...args: never[]) => unknown, self: unknown, args: readonly unknown[]): unknown => handler.apply(self, args as never[]) }[name]!,
    wait: {
      async [name](promise: Promise<unknown>, settled: Settled<A>, attempt: A): Promise<void> {
        let value: unknown
        try {
          value = await promise
        } catch (error) {
          settled(attempt, false, error)
          return
        }
        settled(attempt, true, value)
      },
    }[name]!,
  }
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
