import { RefusalError, UnreachableError, UsageError } from '@opsbook/schema';
import { describe, expect, it } from 'vitest';
import { describeError, exitCodes, exitForInspection } from './exit-code.js';

const errno = (code: string, path?: string) =>
  Object.assign(new Error(`${code}: failed`), { code, ...(path ? { path } : {}) });

describe('describeError', () => {
  it.each([
    ['ENOSPC', 'DISK_FULL'],
    ['EDQUOT', 'QUOTA_EXCEEDED'],
    ['EROFS', 'READ_ONLY_FILESYSTEM'],
    ['EACCES', 'PERMISSION_DENIED'],
  ])('reports a filesystem %s as the machine failing (exit 1), not as a bug', (code, stable) => {
    const r = describeError(errno(code, '/srv/ops/.opsbook/ledger.jsonl'), false);
    expect(r.exitCode).toBe(exitCodes.failed);
    expect(r.text).toMatch(new RegExp(`^error \\(${stable}\\): cannot \\w+ /srv/ops/.opsbook/`));
    expect(r.text).not.toContain('report it');
    expect(r.json.error).toMatchObject({ code: stable, kind: 'failed' });
  });

  it('keeps 70 for what only a bug explains', () => {
    const r = describeError(
      new TypeError("Cannot read properties of undefined (reading 'x')"),
      false,
    );
    expect(r.exitCode).toBe(70);
    expect(r.text).toContain('report it with the command you ran');
    expect(describeError(errno('ENOENT', '/x'), false).exitCode).toBe(70);
  });

  it('maps each kind of opsbook error to its exit code', () => {
    expect(describeError(new UsageError('x'), false).exitCode).toBe(2);
    expect(describeError(new RefusalError('X', 'x'), false).exitCode).toBe(3);
    expect(describeError(new UnreachableError('X', 'x'), false).exitCode).toBe(4);
  });
});

describe('exitForInspection', () => {
  it('exits 1 for a crit finding even when some host was unreachable (a run’s own order: 1 before 4)', () => {
    expect(exitForInspection('unreachable', 'crit')).toBe(exitCodes.failed);
    expect(exitForInspection('ok', 'crit')).toBe(exitCodes.failed);
    expect(exitForInspection('failed', 'ok')).toBe(exitCodes.failed);
    expect(exitForInspection('unreachable', 'warn')).toBe(exitCodes.unreachable);
    expect(exitForInspection('ok', 'warn')).toBe(exitCodes.ok);
    expect(exitForInspection('interrupted', 'crit')).toBe(exitCodes.interrupted);
  });
});
