import { type ErrorCodeEntry, type ErrorCodeOf, type ErrorKind, errorsFor } from '@opsbook/schema';

/** The stable codes of backup and restore (tools match on them), in the README's order. */
export const backupErrorCodes = [
  {
    code: 'BACKUP_SOURCE_FAILED',
    kind: 'failed',
    meaning: 'tar exited ≥ 2 (an unreadable or missing path); nothing was kept',
  },
  {
    code: 'BACKUP_SOURCE_CHANGED',
    kind: 'failed',
    meaning: 'files changed during the backup with `onChange: fail`; nothing was kept',
  },
  {
    code: 'BACKUP_PG_DUMP_FAILED',
    kind: 'failed',
    meaning: "pg_dump or the snapshot session failed (the server's message is included)",
  },
  { code: 'BACKUP_TAR_MISSING', kind: 'failed', meaning: 'the host has no GNU tar' },
  {
    code: 'BACKUP_ZSTD_MISSING',
    kind: 'failed',
    meaning: 'zstd compression asked, the host has no zstd',
  },
  { code: 'BACKUP_PG_DUMP_MISSING', kind: 'failed', meaning: 'the host has no pg_dump' },
  {
    code: 'BACKUP_PSQL_MISSING',
    kind: 'failed',
    meaning: 'the host has no psql to count the tables',
  },
  {
    code: 'BACKUP_PROBE_FAILED',
    kind: 'failed',
    meaning: 'looking for the tools on the host failed or timed out',
  },
  { code: 'BACKUP_NOT_FOUND', kind: 'failed', meaning: 'no such backup in the repository' },
  {
    code: 'BACKUP_CORRUPT',
    kind: 'failed',
    meaning: 'an archive is missing or does not match its manifest; nothing was restored',
  },
  {
    code: 'RESTORE_TARGET_NOT_EMPTY',
    kind: 'failed',
    meaning: 'the restore folder is not empty: choose an empty one or set overwrite',
  },
  { code: 'RESTORE_FAILED', kind: 'failed', meaning: 'tar or pg_restore failed on the host' },
  {
    code: 'RESTORE_STAGING',
    kind: 'failed',
    meaning: 'no temporary folder could be made on the host for the restore',
  },
  {
    code: 'DATABASE_STATS_FAILED',
    kind: 'failed',
    meaning: "counting the database's tables failed",
  },
  {
    code: 'MANIFEST_INVALID',
    kind: 'invalid',
    meaning: 'a manifest that does not match `manifestSchema` (file:line:col)',
  },
] as const satisfies readonly ErrorCodeEntry[];

export type BackupErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<
  typeof backupErrorCodes,
  K
>;

/** @opsbook/schema's error classes, taking only the codes above. */
export const backupErrors = errorsFor(backupErrorCodes);
