// Tasks of threaded models (tries and direct calls) sent to a worker thread and not answered yet,
// counted for the whole process, as drain() counts I/O requests in flight (drain-pace.ts). A
// FakeClock never reaches a thread: a task there computes, or waits for a free thread, in real
// time, and moving the clock on for it would only fire its timeout, or others' etas, mid-task.
// Kept apart from thread-pool.ts, which loads piscina: drain() must not load it.

let inFlight = 0

export function threadTaskSent(): void {
  inFlight++
}

export function threadTaskAnswered(): void {
  inFlight--
}

/** True while a task of a threaded model of this process is in a thread (or queued for one). */
export function threadTasksInFlight(): boolean {
  return inFlight > 0
}
