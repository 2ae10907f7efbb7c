// Public entry point ('wharf-queue'): re-exports only.
export { Wharf, type OpenOptions, type BackupResult, type JobsQuery, type JobGraph, type Stats, type ChannelStats, type Explanation, type Reason, type ReasonKind, type PurgeOptions, type SignalOptions, type ThreadModelOptions, type ThreadedMethods, type CronOptions, type CronView, type BatchOptions, type BatchView, type BatchState, type BatchesQuery, type ClusterView, type ClusterRole, type ClusterNode, type ClusterMember } from './engine/api/wharf.js'
export { chain, group, Delayable, DelayableChain, DelayableGroup } from './engine/api/delayable.js'
export { identityExact } from './engine/api/identity.js'
export { DELAY_MANY_JOBS_MAX, CRON_FIRINGS_MAX, CRONS_MAX, BATCH_JOBS_MAX, BATCH_ON_DONE_JOBS_MAX, BATCH_NAME_LENGTH_MAX, TIME_MS_MAX, DELAY_SECONDS_MAX } from './engine/core/limits.js'
export { BATCH_STATES } from './engine/core/batch.js'
export type { JobProperties, IdentityKeyJob } from './engine/api/properties.js'
export type { FunctionOptions, FunctionInfo, RelatedAction } from './engine/api/functions.js'
export type { RelatedLink } from './engine/api/related-action.js'
export type { Recordset, RecordsetOf, DelayedCallsOf, DelayableOf } from './engine/api/recordset.js'
export { JobContext } from './engine/runtime/runner.js'
export type { ThreadJobContext } from './engine/runtime/thread-entry.js'
export { THREADS_MAX } from './engine/api/thread-model.js'
export type { TelemetryOptions, TracerLike, MeterLike, SpanLike, TryOutcome, Attributes, AttributeValue } from './engine/runtime/telemetry.js'
export type { Logger, WarningCode } from './engine/runtime/warnings.js'
export { SystemClock, FakeClock, type Clock, type TimerHandle } from './engine/runtime/clock.js'
export { MemoryLog } from './storage/memory-log.js'
export { LevelLog, type LevelLogOptions } from './storage/level-log.js'
export { restoreBackup, type RestoreResult } from './storage/restore.js'
export { backupStore } from './storage/backup.js'
export type { OpenReport, IntegrityReport, IntegrityStatus } from './engine/runtime/engine.js'
export type { EventLog, Snapshot } from './storage/event-log.js'
export type { JobView, JobProgress } from './engine/core/view.js'
export type { JobSpec, JobState, WharfEvent, EventType, RecordId, CatchUp } from './engine/core/events.js'
export { JOB_STATES } from './engine/core/events.js'
export {
  WharfError,
  RetryableJobError,
  FailedJobError,
  NothingToDoJob,
  JobTimeoutError,
  JobSupersededError,
  InvalidChannelConfigError,
  InvalidPropertyError,
  NotSerializableError,
  UnknownJobError,
  InvalidJobFunctionError,
  InvalidGraphError,
  JobStateConflictError,
  WharfClosedError,
  StorageLockedError,
  SchemaLockedError,
  NodeNameInUseError,
  SchedulerDeposedError,
  LogCorruptionError,
  UnknownChannelError,
  UnknownCronError,
  StorageError,
  JobFailedError,
  JobCancelledError,
  ResultTimeoutError,
  InvalidBackupError,
  SelfWaitError,
} from './engine/errors.js'
