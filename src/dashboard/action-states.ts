// Which states each of the dashboard's job actions acts on: queue_job's wizards, which an operator
// selecting many jobs uses. The server refuses the others per job (the engine decides it, with the
// state the action meets), and the page offers an action only where it would change something.
// Left out, and why:
// - requeue: a job waiting for its parents (queue_job's Requeue skips it), and a pending one
//   (it already waits for its turn: requeue would only reset its tries);
// - cancel: a done job (queue_job's Cancel wizard leaves it: its work happened, and cancelling it
//   would lose that), and a cancelled one;
// - set done: a done job.

import type { JobState } from '../engine/core/events.js'

export const ACTION_FROM = {
  requeue: ['enqueued', 'started', 'done', 'cancelled', 'failed'],
  cancel: ['wait_dependencies', 'pending', 'enqueued', 'started', 'failed'],
  done: ['wait_dependencies', 'pending', 'enqueued', 'started', 'cancelled', 'failed'],
} as const satisfies Record<string, readonly JobState[]>
