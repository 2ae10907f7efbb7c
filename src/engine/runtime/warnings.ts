// Wharf's warnings go through one place: process.emitWarning with a WHARF_* code (what Node
// prints, and what `process.on('warning')` sees), and the application's logger when
// Wharf.open() was given one.

/** pino-style: `logger.warn({ code }, 'message')`. console fits too. */
export interface Logger {
  debug(fields: object, message?: string): void
  info(fields: object, message?: string): void
  warn(fields: object, message?: string): void
  error(fields: object, message?: string): void
}

export type WarningCode =
  | 'WHARF_LISTENER_ERROR'
  | 'WHARF_LOG_RECOVERED'
  | 'WHARF_SNAPSHOT_FAILED'
  | 'WHARF_THREAD_ERROR'
  | 'WHARF_HISTORY_DAMAGED'
  | 'WHARF_HISTORY_UNCHECKED'
  | 'WHARF_CLUSTER'
  | 'WHARF_CLUSTER_CHANNELS'
  | 'WHARF_BAD_RANDOM'
  | 'WHARF_TELEMETRY_ERROR'
  | 'WHARF_CRON_FIRINGS_SKIPPED'
  | 'WHARF_FAKE_CLOCK_WAIT'

export type Warn = (message: string, code: WarningCode, detail?: string) => void

/** Warns through process.emitWarning, and `logger.warn` when there is a logger. */
export function warnerFor(logger: Logger | null): Warn {
  if (logger === null) return processWarning
  return (message, code, detail) => {
    processWarning(message, code, detail)
    try {
      logger.warn(detail === undefined ? { code } : { code, detail }, message)
    } catch {
      // The logger is the application's: its failure must not become the engine's.
    }
  }
}

export const processWarning: Warn = (message, code, detail) => {
  process.emitWarning(message, detail === undefined ? { code } : { code, detail })
}
