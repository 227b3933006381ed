export type {
  BackupAction,
  BackupActionContext,
  BackupActionResult,
} from './action-context.js';
export { isSet } from './action-context.js';
export { backupActions, backupQueryOf } from './actions.js';
export { type ArchiveProgress, hashFile } from './archive-writer.js';
export { type BackupErrorCode, backupErrorCodes } from './error-codes.js';
export {
  type BackupOutcome,
  type BackupProgress,
  backupFiles,
  type Compression,
  type FileBackupRequest,
} from './file-backup.js';
export {
  type ArchiveEntry,
  type ArchiveFormat,
  type Manifest,
  manifestSchema,
  parseManifest,
  type TableStat,
} from './manifest.js';
export {
  type CopyCheck,
  type CopyDestination,
  type CopyTarget,
  copyOffHost,
  type OffHostCopyReport,
  type OffHostCopyRequest,
  parseCopyTarget,
} from './off-host-copy.js';
export {
  backupPostgres,
  type PostgresBackupRequest,
  type PostgresTarget,
  postgresEnv,
} from './postgres-backup.js';
export {
  type BackupEntry,
  type BackupQuery,
  type BrokenEntry,
  findBackup,
  listBackups,
  matchBackup,
  openRepository,
  type Repository,
  type VerificationRecord,
} from './repository.js';
export {
  type BackupSelector,
  conninfoDbname,
  databaseTableStats,
  type FileRestoreRequest,
  type PostgresRestoreRequest,
  RestoreCancelledError,
  type RestoreOutcome,
  restoreFiles,
  restorePostgres,
} from './restore.js';
export {
  compareRestoredFiles,
  type RestoredFilesCheck,
  restoreTargetState,
  type TargetState,
} from './restore-check.js';
export {
  type PruneOptions,
  type PruneReport,
  parseRetentionPolicy,
  planRetention,
  pruneRepository,
  RETENTION_RULES,
  type RetentionDecision,
  type RetentionInput,
  type RetentionPolicy,
} from './retention.js';
export { compareTableStats, type TableDifference } from './table-stats.js';
export {
  type ArchiveProblem,
  type ArchiveProblemKind,
  type BackupVerification,
  type VerifyOptions,
  type VerifyReport,
  verifyRepository,
} from './verify.js';
