// Threaded models: wharf.model(name, { module, threads }) — the model's methods are the functions
// its module exports, run in a pool of `threads` worker threads (runtime/thread-pool.ts), so
// CPU-bound work never blocks the scheduler. The exports are read at model() time, in a thread
// (the module is never loaded in the main thread): that is why this form of model() is async, and
// why functionList(), delayables and unknown-method checks work as for in-process models.

import { pathToFileURL } from 'node:url'
import { isAbsolute } from 'node:path'
import { InvalidJobFunctionError } from '../errors.js'
import type { Handler, JobContext } from '../runtime/runner.js'
import type { ThreadPool } from '../runtime/thread-pool.js'
import type { Warn } from '../runtime/warnings.js'
import { checkModelName } from './functions.js'
import { describe } from './properties.js'

export interface ThreadModelOptions {
  /** The module whose exported functions are the model's methods: a file URL (e.g.
   * `new URL('./image-jobs.js', import.meta.url)`) or an absolute path. */
  module: URL | string
  /** Worker threads in this model's pool, 1 to THREADS_MAX. */
  threads: number
}

/** Bound on one model's pool: each thread is an isolate with its own heap. */
export const THREADS_MAX = 64
const OPTIONS = new Set(['module', 'threads'])

/** A threaded module's methods as a recordset offers them: a direct call runs in a thread. */
export type ThreadedMethods<M> = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [K in keyof M as K extends 'default' ? never : M[K] extends Handler ? K : never]: M[K] extends (this: any, ...args: infer A) => infer R
    ? (this: JobContext, ...args: A) => Promise<Awaited<R>>
    : never
}

/** The second argument of model() is a threaded model's options (not an object of methods). */
export function isThreadModel(second: unknown): second is ThreadModelOptions {
  return typeof second === 'object' && second !== null && 'module' in second && typeof (second as { module: unknown }).module !== 'function'
}

export function checkThreadOptions(model: string, options: ThreadModelOptions): { href: string; threads: number } {
  checkModelName(model)
  const where = `model(${JSON.stringify(model)})`
  for (const key of Object.keys(options)) {
    if (!OPTIONS.has(key)) throw new InvalidJobFunctionError(`${where}: unknown option ${JSON.stringify(key)}; known: module, threads`)
  }
  const { module, threads } = options
  let href: string
  if (module instanceof URL && module.protocol === 'file:') href = module.href
  else if (typeof module === 'string' && module.startsWith('file:')) href = new URL(module).href
  else if (typeof module === 'string' && isAbsolute(module)) href = pathToFileURL(module).href
  else {
    throw new InvalidJobFunctionError(
      `${where}: module must be a file URL (new URL('./jobs.js', import.meta.url)) or an absolute path, got ${module instanceof URL ? module.href : describe(module)}`,
    )
  }
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > THREADS_MAX) {
    throw new InvalidJobFunctionError(`${where}: threads must be an integer from 1 to ${THREADS_MAX}, got ${describe(threads)}`)
  }
  return { href, threads }
}

/** Start the model's pool (its threads start loading the module only with its first task). */
export async function startThreadPool(href: string, threads: number, warn: Warn): Promise<ThreadPool> {
  const { ThreadPool } = await import('../runtime/thread-pool.js') // piscina loads only for threads
  return new ThreadPool(href, threads, warn)
}

/** Read the module's exports in one of the pool's threads: its methods, each a Handler. The
 * caller destroys the pool when this rejects. */
export async function threadMethods(model: string, href: string, pool: ThreadPool): Promise<Record<string, Handler>> {
  let names: string[]
  try {
    names = await pool.functionNames()
  } catch (error) {
    throw new InvalidJobFunctionError(`model(${JSON.stringify(model)}): cannot load ${href} in a worker thread: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
  if (names.length === 0) {
    throw new InvalidJobFunctionError(`model(${JSON.stringify(model)}): ${href} exports no function (its exported functions are the model's methods)`)
  }
  const methods: Record<string, Handler> = {}
  for (const name of names) methods[name] = pool.handler(name)
  return methods
}
