// The Dates of stored payloads (args, records, context, results). Payloads are shared with
// JobViews and handlers frozen (frozen-payload.ts), but Object.freeze does not stop a Date's
// setters: its time lives in an internal slot, not in a property. A handler calling setTime() on
// its Date argument would change the stored job in memory — its view, its next try — and not the
// log, so the next open would show it as it was. Every Date a payload is stored or read back with
// is a ReadOnlyDate: a Date in every other way (instanceof, getters, JSON, structuredClone gives a
// plain copy), whose setters throw a TypeError, as a write to a frozen object does.

/** Date.prototype's setters, Annex B's setYear included where the engine has it. */
const SETTERS = Object.getOwnPropertyNames(Date.prototype).filter((name) => name.startsWith('set'))

export class ReadOnlyDate extends Date {}

for (const name of SETTERS) {
  Object.defineProperty(ReadOnlyDate.prototype, name, {
    value: function refused(): never {
      throw new TypeError(`${name}(): a stored job's Date cannot change; copy it first (new Date(date))`)
    },
    writable: false,
    enumerable: false,
    configurable: false,
  })
}
Object.freeze(ReadOnlyDate.prototype)

/** A read-only Date of `time` (ms since the epoch; NaN for an invalid Date). */
export function readOnlyDate(time: number): Date {
  return new ReadOnlyDate(time)
}

/** A Date's prototype as payloads may hold it: a caller's plain Date or a stored one. */
export function isDatePrototype(proto: unknown): boolean {
  return proto === Date.prototype || proto === ReadOnlyDate.prototype
}
