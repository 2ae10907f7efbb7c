// Test entry point ('wharf-queue/testing'): re-exports only.
export { trapJobs, JobsTrap, TRAP_CALLS_MAX, type TrapCall, type TrapProperties, type JobMatcher, type AssertEnqueuedOptions } from './engine/testing/trap.js'
export { FakeClock, SystemClock } from './engine/runtime/clock.js'
export { sequentialIds } from './engine/runtime/ids.js'
