/**
 * What the CLI needs from @opsbook/backup (the CLI imports only the runner and the schema):
 * reading, verifying and pruning a local backup repository.
 */
export {
  type BackupEntry,
  type BrokenEntry,
  listBackups,
  openRepository,
  type PruneReport,
  pruneRepository,
  type RetentionPolicy,
  type VerifyReport,
  verifyRepository,
} from '@opsbook/backup';
