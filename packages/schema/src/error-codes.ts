import { type ErrorCodeOf, type ErrorKind, errorCodeList } from './errors.js';

/**
 * The codes of the shared vocabulary itself: the fixed codes of ValidationError, UsageError and
 * InterruptedError, and StorageError's, one per way the filesystem refuses. Tools match on them.
 */
export const schemaErrorCodes = errorCodeList({
  invalid: {
    INVALID_INPUT:
      'a runbook, config, inventory or params file is malformed or invalid (file:line:col)',
    USAGE: 'an unknown command or option, a missing argument or a value of the wrong form',
  },
  failed: {
    DISK_FULL: 'ENOSPC: free space, or set `stateDir` to another filesystem',
    QUOTA_EXCEEDED: 'EDQUOT: free space or have the quota raised',
    READ_ONLY_FILESYSTEM: 'EROFS: remount read-write, or set `stateDir` elsewhere',
    PERMISSION_DENIED: 'EACCES, EPERM: give the user running opsbook access to the path',
    NOT_A_DIRECTORY: 'ENOTDIR: a file sits where a folder (e.g. the state dir) should',
    IS_A_DIRECTORY: 'EISDIR: a folder sits where a file should',
    SYMLINK_LOOP: 'ELOOP: symbolic links on the path go round in a loop, repair the link',
    IO_ERROR: 'EIO: the disk reported an I/O error, check it',
    FILE_REMOVED:
      'a file opsbook was writing (a run journal) was removed or moved meanwhile: keep the state dir in place while opsbook runs',
    NOT_CREATED:
      'ENOENT where the parent folder exists: its filesystem takes no new files or folders (/proc, /sys), choose another place',
  },
  interrupted: {
    INTERRUPTED: 'an operation (a connection, a dump, a command) was cancelled',
  },
});

export type SchemaErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<
  typeof schemaErrorCodes,
  K
>;
