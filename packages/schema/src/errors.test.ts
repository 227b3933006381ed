import { describe, expect, it } from 'vitest';
import {
  StorageError,
  storageErrnos,
  storageErrorOf,
  UsageError,
  unreadableFileError,
  ValidationError,
} from './errors.js';

/** An error as node:fs throws it. */
function errnoError(code: string, path?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: something, open '${path ?? ''}'`), {
    code,
    ...(path ? { path } : {}),
  });
}

describe('storageErrorOf', () => {
  it.each([
    ['ENOSPC', 'DISK_FULL', 'no space left on the device'],
    ['EDQUOT', 'QUOTA_EXCEEDED', 'the disk quota is used up'],
    ['EROFS', 'READ_ONLY_FILESYSTEM', 'the filesystem is read-only'],
    ['EACCES', 'PERMISSION_DENIED', 'permission denied'],
    ['EPERM', 'PERMISSION_DENIED', 'operation not permitted'],
    ['ENOTDIR', 'NOT_A_DIRECTORY', 'a file where a folder should be'],
    ['EISDIR', 'IS_A_DIRECTORY', 'a folder where a file should be'],
    ['ELOOP', 'SYMLINK_LOOP', 'symbolic links go round in a loop'],
    ['EIO', 'IO_ERROR', 'I/O error'],
  ])('turns %s into a failed-kind %s naming the path', (errno, code, says) => {
    const e = storageErrorOf(errnoError(errno, '/var/opsbook/ledger.lock'));
    expect(e).toBeInstanceOf(StorageError);
    expect(e).toMatchObject({ kind: 'failed', code, details: { errno } });
    expect(e?.message).toContain('/var/opsbook/ledger.lock');
    expect(e?.message).toContain(says);
  });

  it('names the place it is told when the error has no path (a write on an open file)', () => {
    const e = storageErrorOf(errnoError('ENOSPC'), {
      place: 'the journal /s/runs/1.jsonl',
      outcome: 'The run stopped there',
      alternative: 'or set stateDir in opsbook.yaml to another place',
    });
    expect(e?.message).toBe(
      'cannot write the journal /s/runs/1.jsonl: no space left on the device (ENOSPC). The run stopped there. Free space on that filesystem, or set stateDir in opsbook.yaml to another place.',
    );
  });

  it('leaves every other error alone', () => {
    expect(storageErrorOf(errnoError('ENOENT', '/x'))).toBeUndefined();
    expect(storageErrorOf(new TypeError('x is undefined'))).toBeUndefined();
    expect(storageErrorOf(new UsageError('bad'))).toBeUndefined();
    expect(storageErrorOf('ENOSPC')).toBeUndefined();
  });

  it('lists exactly the errno codes it maps', () => {
    for (const errno of storageErrnos) expect(storageErrorOf(errnoError(errno))).toBeDefined();
  });
});

describe('unreadableFileError', () => {
  it.each([
    ['EISDIR', 'it is a folder, not a file'],
    ['EACCES', 'permission denied'],
    ['ELOOP', 'its symbolic links go round in a loop'],
  ])('names the file, says why (%s) and what to do, as invalid input', (errno, reason) => {
    const e = unreadableFileError('/x/approvers.yaml', errnoError(errno), 'fix trustStore');
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.kind).toBe('invalid');
    expect(e.message).toBe(
      `/x/approvers.yaml: cannot read it: ${reason} (${errno}): fix trustStore`,
    );
  });

  it('keeps the message of an error it has no words for', () => {
    expect(unreadableFileError('f', errnoError('EWHAT'), 'do x').message).toBe(
      "f: cannot read it: EWHAT: something, open '' (EWHAT): do x",
    );
  });
});
