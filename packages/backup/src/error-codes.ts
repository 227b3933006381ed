import { type ErrorCodeOf, type ErrorKind, errorCodeList, errorsFor } from '@opsbook/schema';

/** The stable codes of backup and restore (tools match on them), in the README's order. */
export const backupErrorCodes = errorCodeList({
  failed: {
    BACKUP_SOURCE_FAILED: 'tar exited ≥ 2 (an unreadable or missing path); nothing was kept',
    BACKUP_SOURCE_CHANGED:
      'files changed during the backup with `onChange: fail`; nothing was kept',
    BACKUP_PG_DUMP_FAILED:
      "pg_dump or the snapshot session failed (the server's message is included)",
    BACKUP_TAR_MISSING: 'the host has no GNU tar',
    BACKUP_ZSTD_MISSING: 'zstd compression asked, the host has no zstd',
    BACKUP_PG_DUMP_MISSING: 'the host has no pg_dump',
    BACKUP_PSQL_MISSING: 'the host has no psql to count the tables',
    BACKUP_NOT_FOUND: 'no such backup in the repository',
    BACKUP_CORRUPT: 'an archive is missing or does not match its manifest; nothing was restored',
    RESTORE_TARGET_NOT_EMPTY:
      'the restore folder is not empty: choose an empty one or set overwrite',
    RESTORE_FAILED: 'tar or pg_restore failed on the host; the message says what the target holds',
    RESTORE_STAGING: 'the restore target or a staging folder in it could not be made on the host',
    DATABASE_STATS_FAILED: "counting the database's tables failed",
    BACKUP_COPY_FAILED:
      'the off-host copy could not be made or hashed (SSH, folder, disk); the local backup is kept',
  },
  invalid: {
    MANIFEST_INVALID: 'a manifest that does not match `manifestSchema` (file:line:col)',
  },
  refused: {
    BACKUP_CHANGED:
      'the backup to restore or compare is not the one the approved plan bound (its manifest digest differs): nothing was done',
  },
});

export type BackupErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<
  typeof backupErrorCodes,
  K
>;

/** @opsbook/schema's error classes, taking only the codes above. */
export const backupErrors = errorsFor(backupErrorCodes);
