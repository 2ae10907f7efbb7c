// Whole-engine benchmarks through the public API, on the in-memory log and the system clock.

import { Wharf, chain, type Delayable, type OpenOptions } from '../index.js'

async function openBench(capacity: number, options: OpenOptions = {}): Promise<{ wharf: Wharf; noop: ReturnType<typeof defineNoop> }> {
  const wharf = await Wharf.open({ channels: `root:${capacity}`, ...options })
  return { wharf, noop: defineNoop(wharf) }
}

function defineNoop(wharf: Wharf) {
  return wharf.model('bench', {
    noop(_i?: number) {
      return undefined
    },
  })
}

/** n withDelay calls issued together and awaited: the cost of storing jobs. */
export async function benchEnqueue(n: number): Promise<void> {
  const { wharf, noop } = await openBench(16)
  const records = noop.browse([1])
  const pending: Promise<unknown>[] = new Array(n)
  for (let i = 0; i < n; i++) pending[i] = records.withDelay().noop(i)
  await Promise.all(pending)
  await wharf.close()
}

/** n jobs stored by delayMany calls of `perCall` lone jobs, awaited one after another; each
 * call's delayables are built in the loop, as a producer would. */
export async function benchDelayMany(n: number, perCall: number): Promise<void> {
  const { wharf, noop } = await openBench(16)
  await delayManyRounds(wharf, noop.browse([1]), n, perCall)
  await wharf.close()
}

/** The producer loop of the delayMany benches; throws unless all n jobs are stored. */
export async function delayManyRounds(wharf: Wharf, records: { delayable(): { noop(i?: number): Delayable } }, n: number, perCall: number): Promise<void> {
  const batch: Delayable[] = new Array(perCall)
  for (let done = 0; done < n; done += perCall) {
    for (let i = 0; i < perCall; i++) batch[i] = records.delayable().noop(done + i)
    await wharf.delayMany(batch)
  }
  if (wharf.stats().states.pending !== n) throw new Error('delayMany bench lost jobs')
}

/**
 * n jobs from enqueue to done with the runner on: a producer enqueues in rounds of 1,000
 * (awaiting each round, as a real producer would) while the runner drains them.
 */
export async function benchLifecycle(n: number, capacity: number, options: OpenOptions = {}): Promise<void> {
  const { wharf, noop } = await openBench(capacity, options)
  const records = noop.browse([1])
  await wharf.start()
  const round = 1_000
  for (let done = 0; done < n; done += round) {
    const pending: Promise<unknown>[] = new Array(round)
    for (let i = 0; i < round; i++) pending[i] = records.withDelay().noop(i)
    await Promise.all(pending)
  }
  await wharf.idle()
  if (wharf.stats().states.done !== n) throw new Error('lifecycle bench lost jobs')
  await wharf.close()
}

/** `chains` chains of `length` jobs each, delayed together, run to the end. */
export async function benchChains(chains: number, length: number, capacity: number): Promise<void> {
  const { wharf, noop } = await openBench(capacity)
  const records = noop.browse([1])
  await wharf.start()
  const delays: Promise<void>[] = []
  for (let c = 0; c < chains; c++) {
    const nodes: Delayable[] = []
    for (let i = 0; i < length; i++) nodes.push(records.delayable().noop(i))
    delays.push(chain(...nodes).delay())
  }
  await Promise.all(delays)
  await wharf.idle()
  if (wharf.stats().states.done !== chains * length) throw new Error('chain bench lost jobs')
  await wharf.close()
}
