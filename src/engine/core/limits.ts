// Named limits (STYLE habit 7): one module, so the bounds of the system can be read in one place.
// Each is checked at the boundary with a typed error and, where the core relies on it, asserted
// inside. Pure constants: any layer may import them.

/** Rough size budget of one job's args+records+context, or of one result (see cloneSerializable). */
export const PAYLOAD_BYTES_MAX = 1_048_576
/** Containers (arrays, objects) in a payload may nest this many levels deep. */
export const PAYLOAD_DEPTH_MAX = 64
/** excMessage of a thrown non-Error value (its JSON) is cut at this many characters. */
export const EXC_MESSAGE_LENGTH_MAX = 1_000
