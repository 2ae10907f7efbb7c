// Arrays the core empties and fills again on every event or tick. `array.length = 0` makes V8
// drop the array's backing store, so the next push allocates a new one (16 slots, ~150 bytes):
// for the list of jobs finishing in an event that was one allocation per finished job. Popping
// keeps the store.

/** Empty `array`, keeping the room it has for the next fill. */
export function emptyKeepingRoom(array: unknown[]): void {
  while (array.length > 0) array.pop()
}
