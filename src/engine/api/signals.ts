// closeOnSignals(): the graceful shutdown of README's recipe, installed in one call. On SIGTERM or
// SIGINT: stop dispatching, wait up to timeoutMs for running handlers (close({ timeoutMs }):
// those still running then are aborted, and their jobs recovered by the next open), release the
// store, and exit 0 — or 1 when close failed. A second signal while closing exits 1 at once
// (the store stays consistent: the next open recovers what ran). Exiting is the point: once
// SIGTERM has a listener, Node no longer ends the process on its own.

import { InvalidPropertyError } from '../errors.js'
import { TIMEOUT_MS_MAX } from './functions.js'
import { isOptionsObject } from './options-object.js'
import { describe } from './properties.js'

export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000

export interface SignalOptions {
  /** How long running handlers get to finish before they are aborted. Default 30,000. */
  timeoutMs?: number
}

/** What closeOnSignals needs of a Wharf. */
export interface Closable {
  close(options: { timeoutMs: number }): Promise<void>
  /** Run `hook` when close() starts; returns its removal. */
  onClose(hook: () => unknown): () => void
}

export function checkSignalOptions(options: unknown): number {
  if (!isOptionsObject(options)) {
    throw new InvalidPropertyError(`closeOnSignals(): options must be an object, got ${describe(options)}`)
  }
  for (const key of Object.keys(options)) {
    if (key !== 'timeoutMs') throw new InvalidPropertyError(`closeOnSignals(): unknown option ${JSON.stringify(key)}; known: timeoutMs`)
  }
  const timeoutMs = (options as SignalOptions).timeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS
  if (typeof timeoutMs !== 'number' || !Number.isSafeInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > TIMEOUT_MS_MAX) {
    throw new InvalidPropertyError(`closeOnSignals(): timeoutMs must be an integer number of ms from 0 to ${TIMEOUT_MS_MAX}, got ${describe(timeoutMs)}`)
  }
  return timeoutMs
}

/**
 * Install the listeners; returns their removal (after which the signals do what they did before).
 * A close() that the app makes itself removes them too: this Wharf has nothing left to close.
 */
export function installSignalHandlers(target: Closable, timeoutMs: number, onUninstall: () => void): () => void {
  let closing = false
  let installed = true
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) {
      process.stderr.write(`wharf: ${signal} again: exiting now, without waiting for running jobs (the next open recovers them)\n`)
      process.exit(1)
    }
    closing = true
    process.stderr.write(`wharf: ${signal}: closing; running jobs get up to ${timeoutMs} ms (send ${signal} again to exit at once)\n`)
    target.close({ timeoutMs }).then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`wharf: close after ${signal} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
        process.exit(1)
      },
    )
  }
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, onSignal)
  const uninstall = (): void => {
    if (!installed) return
    installed = false
    for (const signal of SHUTDOWN_SIGNALS) process.off(signal, onSignal)
    removeHook()
    onUninstall()
  }
  // Closed by a signal, the listeners stay for the second one.
  const removeHook = target.onClose(() => {
    if (!closing) uninstall()
  })
  return uninstall
}
