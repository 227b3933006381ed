import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Finding, runCheck } from './index.js';

const fixture = (distro: string, file: string) =>
  readFileSync(new URL(`./__fixtures__/${distro}/${file}.txt`, import.meta.url), 'utf8');
/** The `with:` values the capture script used; format-derived folders have none. */
const captureWith = (distro: string): Record<string, object> => {
  const file = new URL(`./__fixtures__/${distro}/with.json`, import.meta.url);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
};
const check = (name: string, distro: string, withValue?: object, file = name): Finding[] =>
  runCheck(
    `inspection.${name}`,
    withValue ?? captureWith(distro)[`inspection.${name}`] ?? {},
    fixture(distro, file),
    'h1',
  );
const bySubject = (findings: Finding[], subject: string) =>
  findings.find((f) => f.subject === subject);

describe.each(['debian-12', 'busybox'])('captured %s outputs', (distro) => {
  it('reads df -P: the root filesystem with the capacity df printed, pseudo filesystems left out', () => {
    const findings = check('disk', distro);
    const rootLine =
      fixture(distro, 'disk')
        .split('\n')
        .find((l) => / \/$/.test(l)) ?? '';
    const printed = Number(/(\d+)% \/$/.exec(rootLine)?.[1]);
    expect(bySubject(findings, '/')).toMatchObject({
      status: 'ok',
      value: printed,
      unit: '%',
      threshold: 80,
    });
    expect(findings.some((f) => f.subject === '/dev/shm' || f.subject === '/dev')).toBe(false);
  });

  it('reads df -Pi inode use per mount point', () => {
    const root = bySubject(check('inodes', distro), '/');
    expect(root?.status).toBe('ok');
    expect(typeof root?.value).toBe('number');
  });

  it('reads /proc/meminfo into memory and swap use', () => {
    const text = fixture(distro, 'memory');
    const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1]);
    const mem = check('memory', distro)[0];
    expect(mem?.value).toBeCloseTo(
      ((kib('MemTotal') - kib('MemAvailable')) * 100) / kib('MemTotal'),
      1,
    );
    const swap = check('swap', distro)[0];
    expect(swap?.status).toBe('ok');
    if (kib('SwapTotal') === 0) expect(swap?.message).toBe('no swap configured');
  });

  it('divides the 5-minute load by the cores nproc reported', () => {
    const text = fixture(distro, 'load');
    const load5 = Number(/OPSBOOK_LOADAVG \S+ (\S+)/.exec(text)?.[1]);
    const cores = Number(/OPSBOOK_CORES (\d+)/.exec(text)?.[1]);
    const [f] = check('load', distro);
    expect(f?.value).toBeCloseTo(load5 / cores, 2);
    expect(f?.unit).toBe('per-core');
  });

  it('finds running processes by name and counts the zombie the capture left', () => {
    expect(check('process', distro)[0]).toMatchObject({ status: 'ok', subject: 'sleep' });
    expect(check('process', distro, { name: 'no-such-daemon' })[0]).toMatchObject({
      status: 'crit',
      value: 0,
    });
    expect(check('process', distro, { pattern: '^/process_api ' })[0]?.status).toBe('ok');
    const zombies = check('zombies', distro)[0];
    expect(zombies?.value).toBeGreaterThanOrEqual(1);
    expect(zombies?.message).toContain('sleep[');
  });

  it('sees the capture server listening (ss or netstat) and a free port as not listening', () => {
    const port = (captureWith(distro)['inspection.port-listening'] as { port: number }).port;
    expect(check('port-listening', distro)[0]).toMatchObject({ status: 'ok', value: true });
    expect(check('port-listening', distro, { port: port === 1 ? 2 : 1 })[0]).toMatchObject({
      status: 'crit',
      value: false,
    });
  });

  it('reads the endpoint probe (curl on Debian, wget on BusyBox) as HTTP 200', () => {
    const [f] = check('endpoint', distro);
    expect(f?.status).toBe('ok');
    expect(f?.message).toMatch(/HTTP 200/);
  });

  it('counts error lines of the log file in the window', () => {
    expect(check('log-errors', distro)[0]).toMatchObject({ status: 'ok', value: 2, threshold: 10 });
    expect(
      check('log-errors', distro, { file: '/x', thresholds: { warn_count: 1, crit_count: 2 } })[0]
        ?.status,
    ).toBe('crit');
  });

  it('ages the newest backup with the host clock (GNU find -printf, BusyBox stat)', () => {
    const text = fixture(distro, 'backup-age');
    const now = Number(/OPSBOOK_NOW (\d+)/.exec(text)?.[1]);
    const mtime = Number(/^(\d+)/m.exec(text.split('\n').slice(2).join('\n'))?.[1]);
    const [f] = check('backup-age', distro);
    expect(f?.value).toBeCloseTo((now - mtime) / 3600, 1);
    expect(f?.status).toBe('ok');
    expect(
      check('backup-age', distro, { path: '/b', thresholds: { warn_hours: 1, crit_hours: 2 } })[0]
        ?.status,
    ).toBe('crit');
  });

  it('finds no OOM kill and no disk error in this machine kernel log', () => {
    expect(check('oom-kills', distro)[0]).toMatchObject({ status: 'ok', value: 0 });
    expect(check('disk-errors', distro)[0]).toMatchObject({ status: 'ok', value: 0 });
  });

  it('answers unknown with the reason where systemd is not running or the tool is missing', () => {
    for (const name of ['failed-units', 'unit-active', 'time-sync']) {
      const [f] = check(name, distro);
      expect(f).toMatchObject({ status: 'unknown', value: null });
      expect(f?.message).toMatch(
        distro === 'busybox'
          ? /not available on the host/
          : /System has not been booted with systemd/,
      );
    }
  });

  it('reads the Debian reboot flag file', () => {
    expect(check('reboot-required', distro)[0]).toMatchObject({ status: 'ok', value: false });
  });
});

describe('Debian-only tools', () => {
  /** Packages apt-get -s upgrade installs from a security suite (captured with the lists one). */
  const aptGetSecurity = () =>
    new Set(
      fixture('debian-12', 'security-updates-apt-get')
        .split('\n')
        .filter((l) => /^Inst /.test(l) && /security/i.test(l))
        .map((l) => l.split(' ')[1]),
    );

  it('counts packages with a security update in apt-get -s upgrade (the fallback)', () => {
    const expected = aptGetSecurity();
    const [f] = check('security-updates', 'debian-12', {}, 'security-updates-apt-get');
    expect(f?.value).toBe(expected.size);
    expect(f?.status).toBe(expected.size >= 10 ? 'crit' : expected.size >= 1 ? 'warn' : 'ok');
  });

  it('names the same packages from the security lists as apt-get -s upgrade on the same machine', () => {
    const expected = aptGetSecurity();
    expect(expected.size).toBeGreaterThan(10);
    const [f] = check('security-updates', 'debian-12');
    expect(f?.value).toBe(expected.size);
    // The lists also hold versions older than the installed ones (curl after a point release):
    // those rows are printed by the collector and must not count.
    const rows = fixture('debian-12', 'security-updates')
      .split('\n')
      .filter((l) => /^[a-z0-9]/.test(l));
    expect(rows.length).toBeGreaterThan(expected.size);
    const named = (f?.message ?? '')
      .replace(/^.*?: /, '')
      .replace(/, …$/, '')
      .split(', ');
    for (const name of named) expect(expected.has(name), name).toBe(true);
  });

  it('reads a certificate file expiry in days with the host clock', () => {
    const [f] = check('tls-cert', 'debian-12');
    expect(f).toMatchObject({ status: 'ok', unit: 'days' });
    expect(f?.value).toBeGreaterThan(30);
    expect(f?.message).toContain('CN = inspection.test');
  });

  it('says unknown on BusyBox hosts without openssl or a package manager', () => {
    expect(check('tls-cert', 'busybox')[0]?.message).toMatch(/openssl/);
    expect(check('security-updates', 'busybox')[0]?.message).toMatch(/apt-get dnf yum apk/);
  });
});

describe('RHEL/Rocky and Alpine formats (written from published outputs, see the fixtures README)', () => {
  it('counts packages and advisories by severity from dnf updateinfo', () => {
    const [f] = check('security-updates', 'rhel-9');
    expect(f).toMatchObject({ status: 'warn', value: 5, subject: 'dnf' });
    expect(f?.message).toContain('[1 Important, 1 Moderate, 1 Low]');
  });

  it('counts every pending apk update on Alpine, saying it cannot tell security ones apart', () => {
    const [f] = check('security-updates', 'alpine-3');
    expect(f).toMatchObject({ status: 'warn', value: 3 });
    expect(f?.message).toContain('apk cannot tell');
  });

  it('reads needs-restarting -r by its exit status', () => {
    expect(check('reboot-required', 'rhel-9')[0]).toMatchObject({ status: 'warn', value: true });
    expect(check('reboot-required', 'rhel-9', { severity: 'crit' })[0]?.status).toBe('crit');
    expect(check('reboot-required', 'rhel-9', {}, 'reboot-not-required')[0]).toMatchObject({
      status: 'ok',
      value: false,
    });
  });

  it('prefers chronyc tracking and grades the offset in milliseconds', () => {
    const [f] = check('time-sync', 'rhel-9');
    expect(f).toMatchObject({ status: 'ok', subject: 'chrony', value: 0.275, unit: 'ms' });
    expect(check('time-sync', 'alpine-3')[0]).toMatchObject({ status: 'unknown' });
  });

  it('lists failed units with or without the bullet, minus the ignored ones', () => {
    expect(check('failed-units', 'rhel-9')[0]).toMatchObject({ status: 'warn', value: 2 });
    expect(check('failed-units', 'rhel-9', {}, 'failed-units-bullet')[0]?.message).toContain(
      'fail-test-unit.service',
    );
    expect(check('failed-units', 'rhel-9', { ignore: ['fail2ban'] })[0]?.value).toBe(1);
  });

  it('grades a unit by its ActiveState and a missing unit as crit', () => {
    expect(check('unit-active', 'rhel-9', { unit: 'nginx' })[0]).toMatchObject({
      status: 'crit',
      value: 'failed',
    });
    expect(check('unit-active', 'rhel-9', { unit: 'nginx', expect: 'inactive' })[0]?.status).toBe(
      'ok',
    );
    expect(
      check('unit-active', 'rhel-9', { unit: 'nope' }, 'unit-not-found')[0]?.message,
    ).toContain('does not exist');
  });

  it('counts OOM kills and disk error lines in journal kernel lines', () => {
    expect(check('oom-kills', 'rhel-9')[0]).toMatchObject({ status: 'warn', value: 1 });
    expect(check('disk-errors', 'rhel-9')[0]).toMatchObject({ status: 'warn', value: 4 });
  });
});
