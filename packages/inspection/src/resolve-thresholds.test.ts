import { isOpsbookError } from '@opsbook/schema';
import { describe, expect, it } from 'vitest';
import {
  findInspectionCheck,
  resolveThresholds,
  runCheck,
  thresholdDefaults,
  thresholdVarName,
} from './index.js';

const disk = findInspectionCheck('disk')!;
const tls = findInspectionCheck('inspection.tls-cert')!;
const df = 'Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 100 85 15 85% /\n';

function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isOpsbookError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('resolveThresholds', () => {
  it('takes the defaults from the check schema', () => {
    expect(thresholdDefaults(disk)).toEqual({ warn_pct: 80, crit_pct: 90 });
    expect(resolveThresholds(disk, {}, {})).toEqual({ warn_pct: 80, crit_pct: 90 });
  });

  it('lets with: override a default, and a host var override with:', () => {
    expect(resolveThresholds(disk, { thresholds: { warn_pct: 70 } })).toEqual({
      warn_pct: 70,
      crit_pct: 90,
    });
    const vars = { opsbook_threshold_disk_warn_pct: 85, opsbook_threshold_disk_crit_pct: '95' };
    expect(resolveThresholds(disk, { thresholds: { warn_pct: 70 } }, vars)).toEqual({
      warn_pct: 85,
      crit_pct: 95,
    });
  });

  it('names host vars after the check with underscores', () => {
    expect(thresholdVarName('inspection.failed-units', 'warn_count')).toBe(
      'opsbook_threshold_failed_units_warn_count',
    );
    expect(thresholdVarName(tls, 'crit_days')).toBe('opsbook_threshold_tls_cert_crit_days');
  });

  it('ignores vars of other checks and unrelated vars', () => {
    const vars = { opsbook_threshold_inodes_warn_pct: 1, ansible_host: '10.0.0.1' };
    expect(resolveThresholds(disk, {}, vars)).toEqual({ warn_pct: 80, crit_pct: 90 });
  });

  it('refuses a host var that is not a number, naming the var', () => {
    const r = refusal(() =>
      resolveThresholds(disk, {}, { opsbook_threshold_disk_crit_pct: 'ninety' }),
    );
    expect(r.code).toBe('INSPECTION_THRESHOLD_INVALID');
    expect(r.message).toContain('opsbook_threshold_disk_crit_pct');
  });

  it('refuses a host var outside the schema range', () => {
    expect(
      refusal(() => resolveThresholds(disk, {}, { opsbook_threshold_disk_crit_pct: 150 })).message,
    ).toMatch(/at most 100/);
  });

  it('refuses a warn limit beyond the crit limit, in both directions of "worse"', () => {
    expect(
      refusal(() => resolveThresholds(disk, { thresholds: { warn_pct: 95 } })).message,
    ).toMatch(/warn_pct \(95\) must be at most crit_pct \(90\)/);
    expect(
      refusal(() => resolveThresholds(tls, { host: 'a', thresholds: { warn_days: 3 } })).message,
    ).toMatch(/warn_days \(3\) must be at least crit_days \(7\)/);
  });

  it('changes the status runCheck reports for the same output', () => {
    expect(runCheck('disk', {}, df, 'h')[0]?.status).toBe('warn');
    expect(
      runCheck('disk', {}, df, { name: 'h', vars: { opsbook_threshold_disk_warn_pct: 86 } })[0]
        ?.status,
    ).toBe('ok');
    expect(runCheck('disk', { thresholds: { crit_pct: 85 } }, df, 'h')[0]).toMatchObject({
      status: 'crit',
      threshold: 85,
    });
  });
});

describe('resolveThresholds with a vaulted host var', () => {
  const updates = findInspectionCheck('inspection.security-updates')!;
  const vaulted = (...names: string[]) =>
    Object.fromEntries(names.map((n) => [n, { file: 'hosts.yaml', line: 3, isVaulted: true }]));

  /** The whole refusal (message and every problem): the decrypted value must be in none of it. */
  function shownOf(fn: () => unknown): { code: string; shown: string } {
    try {
      fn();
    } catch (e) {
      if (isOpsbookError(e)) return { code: e.code, shown: `${e.message}\n${JSON.stringify(e)}` };
      throw e;
    }
    throw new Error('expected a refusal');
  }

  it.each([
    ['a number', disk, { opsbook_threshold_disk_warn_pct: '73' }, '73'],
    ['not a number', disk, { opsbook_threshold_disk_warn_pct: 'VAULTPW_leak' }, 'VAULTPW_leak'],
    ['crossing the crit limit', disk, { opsbook_threshold_disk_warn_pct: '95.25' }, '95.25'],
    ['out of the schema range', disk, { opsbook_threshold_disk_crit_pct: '150.5' }, '150.5'],
    [
      'of the wrong type for the schema',
      updates,
      { opsbook_threshold_security_updates_warn_count: '2.75' },
      '2.75',
    ],
  ])(
    'refuses one holding %s, naming the var, never showing its value (plans and findings would)',
    (_, check, vars, secret) => {
      const r = shownOf(() => resolveThresholds(check, {}, vars, vaulted(...Object.keys(vars))));
      expect(r.code).toBe('INSPECTION_THRESHOLD_INVALID');
      expect(r.shown).toContain(`${Object.keys(vars)[0]}: is (a vaulted value), refused`);
      expect(r.shown).toContain('write it unvaulted');
      expect(r.shown).not.toContain(secret);
    },
  );

  it('still shows a plain value beside a vaulted one', () => {
    const vars = { opsbook_threshold_disk_warn_pct: '95.25', opsbook_threshold_disk_crit_pct: 'x' };
    const r = shownOf(() =>
      resolveThresholds(disk, {}, vars, vaulted('opsbook_threshold_disk_warn_pct')),
    );
    expect(r.shown).toContain('opsbook_threshold_disk_crit_pct: is "x", not a number');
    expect(r.shown).not.toContain('95.25');
  });

  it('is refused the same through runCheck, given the host var origins', () => {
    const host = {
      name: 'h',
      vars: { opsbook_threshold_disk_warn_pct: 'VAULTPW_leak' },
      varOrigins: vaulted('opsbook_threshold_disk_warn_pct'),
    };
    const r = shownOf(() => runCheck('disk', {}, df, host));
    expect(r.shown).toContain('is (a vaulted value), refused');
    expect(r.shown).not.toContain('VAULTPW_leak');
  });
});

describe('runCheck input errors', () => {
  it('refuses an unknown check and suggests the closest name', () => {
    const r = refusal(() => runCheck('inspection.dsk', {}, '', 'h'));
    expect(r.message).toContain("did you mean 'inspection.disk'");
  });

  it('refuses a with: the schema rejects, with the reason', () => {
    expect(refusal(() => runCheck('disk', { mount: ['/'] }, '', 'h'))).toMatchObject({
      code: 'INSPECTION_WITH_INVALID',
    });
    expect(
      refusal(() => runCheck('process', { name: 'a', pattern: 'b' }, '', 'h')).message,
    ).toContain("exactly one of: 'name', or 'pattern'");
    expect(refusal(() => runCheck('port-listening', { port: 70000 }, '', 'h')).message).toMatch(
      /at most 65535/,
    );
  });

  it('accepts a missing with: for checks without required params', () => {
    expect(runCheck('disk', undefined, df, 'h')).toHaveLength(1);
  });
});
