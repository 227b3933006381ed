import type { ErrorCodeEntry, ErrorCodeOf, ErrorKind } from './errors.js';

/**
 * The codes of the shared vocabulary itself: the fixed codes of ValidationError, UsageError and
 * InterruptedError, and StorageError's, one per way the filesystem refuses. Tools match on them.
 */
export const schemaErrorCodes = [
  {
    code: 'INVALID_INPUT',
    kind: 'invalid',
    meaning: 'a runbook, config, inventory or params file is malformed or invalid (file:line:col)',
  },
  {
    code: 'USAGE',
    kind: 'invalid',
    meaning: 'an unknown command or option, a missing argument or a value of the wrong form',
  },
  {
    code: 'DISK_FULL',
    kind: 'failed',
    meaning: 'ENOSPC: free space, or set `stateDir` to another filesystem',
  },
  {
    code: 'QUOTA_EXCEEDED',
    kind: 'failed',
    meaning: 'EDQUOT: free space or have the quota raised',
  },
  {
    code: 'READ_ONLY_FILESYSTEM',
    kind: 'failed',
    meaning: 'EROFS: remount read-write, or set `stateDir` elsewhere',
  },
  {
    code: 'PERMISSION_DENIED',
    kind: 'failed',
    meaning: 'EACCES, EPERM: give the user running opsbook access to the path',
  },
  {
    code: 'NOT_A_DIRECTORY',
    kind: 'failed',
    meaning: 'ENOTDIR: a file sits where a folder (e.g. the state dir) should',
  },
  {
    code: 'IO_ERROR',
    kind: 'failed',
    meaning: 'EIO: the disk reported an I/O error, check it',
  },
  {
    code: 'INTERRUPTED',
    kind: 'interrupted',
    meaning: 'an operation (a connection, a dump, a command) was cancelled',
  },
] as const satisfies readonly ErrorCodeEntry[];

export type SchemaErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<
  typeof schemaErrorCodes,
  K
>;
