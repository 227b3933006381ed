export { type ApprovalRun, isRunUnused } from './approval-use.js';
export { type StateErrorCode, stateErrorCodes, stateErrors } from './error-codes.js';
export {
  type FactsRow,
  type FindingRow,
  type FindingStatus,
  type FindingsProblem,
  type FindingsQuery,
  findingStatuses,
  findingsOfEvents,
  findingsOfJournalText,
  type HostOutcomeRow,
  type RunFindings,
  selectFindings,
} from './findings.js';
export { FINDINGS_DIR, findingsPath } from './findings-files.js';
export { GroupCommit } from './group-commit.js';
export {
  chainLine,
  checkEvent,
  GENESIS_HASH,
  hashOfLine,
  isErrno,
  Journal,
  type JournalEvent,
  type JournalLine,
  type JournalOptions,
  type JournalSink,
  journalPath,
  type Masker,
  maskFields,
  RUNS_DIR,
} from './journal.js';
export {
  type JournalExpectation,
  type JournalNote,
  type JournalProblem,
  type JournalRule,
  type JournalVerification,
  verifyJournal,
  verifyJournalBytes,
} from './journal-verify.js';
export {
  DAMAGED_LEDGER_LINE,
  entriesOf,
  type LedgerDamage,
  type LedgerEntry,
  type LedgerOptions,
  type LedgerRecord,
  type LockOptions,
  type RunClaim,
  type RunEnd,
  type RunEndRecord,
  type RunRecord,
} from './ledger.js';
export { type LeftOutRun, unverifiedReason } from './left-out-run.js';
export { withLockFile } from './lock-file.js';
export { closeStateStores, stateStoreOf, stateViewOf } from './open-store.js';
export {
  connectionTargetOf,
  isConnectionLoss,
  retryWhileDown,
  unreachableError,
} from './postgres/connection.js';
export { type Database, openDatabase } from './postgres/database.js';
export {
  exclusiveHoldersOf,
  type LockHolder,
  type LockHolders,
  sessionFacts,
} from './postgres/lock-holders.js';
export {
  checkStateStore,
  type MigrateOptions,
  type MigrationResult,
  migrateStateStore,
} from './postgres/migrate.js';
export { LATEST_VERSION as STATE_SCHEMA_VERSION } from './postgres/migrations.js';
export { type PostgresStoreOptions, postgresStore } from './postgres/postgres-store.js';
export {
  holdWorkerLeases,
  holdWorkerPoolLease,
  runnerLease,
  submitterLease,
  type WorkerLeaseNotice,
  workerLease,
  workerPoolLease,
} from './postgres/run-leases.js';
export {
  auditTrailExposure,
  grantRunnerRole,
  type RunnerRoleGrant,
} from './postgres/runner-role.js';
export {
  SharedJournal,
  type SharedJournalOptions,
  type SharedRun,
  type SubmitterLeaseHolders,
} from './postgres/shared-journal.js';
export { type RunStatus, runStatuses, runStatusValues } from './run-status.js';
export {
  filterRuns,
  type HostCounts,
  newRunId,
  type ReadRunOptions,
  type RunFilter,
  type RunRecordView,
  type RunSource,
  type RunState,
  type RunSummary,
  summarizeRun,
  verifyStoredJournal,
} from './run-store.js';
export type {
  KnownSchedule,
  ScheduleEntry,
  ScheduleLog,
  ScheduleSlot,
  SlotEnd,
  SlotHold,
  SlotOutcome,
} from './schedule-log.js';
export { type FilesStoreOptions, filesStore, type StateStore } from './store.js';
