// on('transition') listeners: the engine calls them with each committed event, after the tick's
// callers are answered. A listener belongs to the application, so whatever it does must not
// reach the engine.

import type { WharfEvent } from '../core/events.js'
import { processWarning, type Warn } from './warnings.js'

export type Listener = (event: WharfEvent) => void

export class Listeners {
  private readonly listeners = new Set<Listener>()

  constructor(private readonly warn: Warn = processWarning) {}

  /** Returns the way to remove it again. */
  add(listener: Listener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Every event of a committed batch to every listener, in order. */
  emit(batch: readonly WharfEvent[]): void {
    // Checked first so that the common tick, with nobody listening, walks no batch.
    if (this.listeners.size === 0) return
    // The listeners registered when the batch was committed: one a listener adds meanwhile starts
    // with the next batch (a Set's iteration would hand it the event being delivered); one removed
    // meanwhile gets nothing more.
    const listeners = [...this.listeners]
    for (const event of batch) {
      for (const listener of listeners) {
        if (!this.listeners.has(listener)) continue
        try {
          listener(event)
        } catch (error) {
          // A listener's bug must not stop the engine, nor vanish: it is reported, and the other
          // listeners and events go on.
          warnListenerThrew(this.warn, event, error)
        }
      }
    }
  }
}

function warnListenerThrew(warn: Warn, event: WharfEvent, error: unknown): void {
  let why: string
  try {
    why = error instanceof Error ? error.message : String(error)
  } catch {
    why = Object.prototype.toString.call(error) // even String() can throw (null prototype)
  }
  warn(`wharf: an on('transition') listener threw on event ${event.seq} (${event.type}): ${why}`, 'WHARF_LISTENER_ERROR', error instanceof Error ? error.stack : undefined)
}
