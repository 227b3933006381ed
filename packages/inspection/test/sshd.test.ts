import { execFileSync } from 'node:child_process';
import { mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { connectSsh, type Transport } from '@opsbook/exec';
import { type Sshd, startSshdHosts } from '@opsbook/testkit/sshd';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Finding,
  findingSchema,
  inspectionCheckNames,
  inspectionChecks,
  runCheck,
} from '../src/index.js';
import { describeAgreementWithTools } from './tools-agreement.js';

/*
 * Issue 6, "Done means": every collector runs over a real OpenSSH sshd (on this same machine, so
 * the findings can be compared with df, free and nproc run directly), through the SSH transport
 * the runner uses, and a host without the tools yields `unknown` with the reason, never a crash.
 */

const statuses = new Set(['ok', 'warn', 'crit', 'unknown']);
let tmp: { dir: string; remove: () => Promise<void> };
let sshd: Sshd;
let ssh: Transport;
/** A folder holding only BusyBox applets: the userland of an Alpine host. */
let busyboxBin = '';
/** A folder holding only `sh`: a host where every tool a collector wants is missing. */
let bareBin = '';
const withs: Record<string, object> = {};

/** Runs a collector the way the runner does (transport.exec) and hands its stdout to runCheck. */
async function inspect(
  name: string,
  withValue: object = withs[name] ?? {},
  env?: Record<string, string>,
): Promise<Finding[]> {
  const check = inspectionChecks[name as keyof typeof inspectionChecks];
  const result = await ssh.exec({
    command: check.collect(withValue as never),
    ...(env ? { env } : {}),
  });
  expect(result.timedOut).toBe(false);
  return runCheck(name, withValue, result.stdout, 'sshd-host');
}

function expectWellFormed(name: string, findings: Finding[]): void {
  expect(findings.length, name).toBeGreaterThan(0);
  for (const f of findings) {
    expect(Object.keys(f).every((k) => k in findingSchema.properties)).toBe(true);
    expect(statuses.has(f.status), `${name}: ${f.status}`).toBe(true);
    expect(f.host).toBe('sshd-host');
    expect(f.check).toBe(name);
    expect(f.message.trim().length, name).toBeGreaterThan(0);
  }
}

async function linkTools(dir: string, tools: Record<string, string>): Promise<void> {
  await mkdir(dir);
  for (const [name, target] of Object.entries(tools)) await symlink(target, path.join(dir, name));
}

beforeAll(async () => {
  tmp = await makeTempDir('opsbook-inspection-sshd-');
  const home = path.join(tmp.dir, 'home');
  await mkdir(home);
  // Root's real ~/.bashrc (pyenv) would cost seconds per command: sessions get an empty HOME.
  [sshd] = (await startSshdHosts(1, { extraConfig: [`SetEnv HOME=${home}`] })) as [Sshd];
  const knownHosts = path.join(tmp.dir, 'known_hosts');
  await writeFile(knownHosts, `${sshd.knownHostsLine}\n`);
  ssh = await connectSsh(
    {
      name: 'sshd-host',
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      identityFile: sshd.clientKeyPath,
    },
    { knownHostsFile: knownHosts },
  );

  const cert = path.join(tmp.dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-days', '20', '-subj', '/CN=sshd-host', '-keyout', path.join(tmp.dir, 'key.pem')],
      ...['-out', cert],
    ],
    { stdio: 'ignore' },
  );
  // The certificate is valid for exactly 20 days from the second it was made, and the check
  // counts whole days left against the host's clock in seconds: in that same second it is 20,
  // in every later one 19. Wait out that second so the expected value is 19, not a race.
  await new Promise((r) =>
    setTimeout(r, (Math.floor(Date.now() / 1000) + 1) * 1000 - Date.now() + 5),
  );
  await mkdir(path.join(tmp.dir, 'backups'));
  const backup = path.join(tmp.dir, 'backups', 'nightly.tar');
  await writeFile(backup, 'backup');
  const t = Date.now() / 1000 - 30 * 3600;
  await utimes(backup, t, t);
  await writeFile(path.join(tmp.dir, 'app.log'), 'ok\nERROR one\nfine\nFatal two\n');

  busyboxBin = path.join(tmp.dir, 'busybox-bin');
  const applets = execFileSync('busybox', ['--list'], { encoding: 'utf8' }).trim().split('\n');
  await linkTools(busyboxBin, Object.fromEntries(applets.map((a) => [a, '/usr/bin/busybox'])));
  bareBin = path.join(tmp.dir, 'bare-bin');
  await linkTools(bareBin, { sh: '/bin/sh' });

  Object.assign(withs, {
    'inspection.unit-active': { unit: 'ssh' },
    // The sshd under test is a real process and really listens on its port.
    'inspection.process': { pattern: 'sshd_config' },
    'inspection.port-listening': { port: sshd.port, address: sshd.host },
    'inspection.endpoint': { host: sshd.host, port: sshd.port, timeout_s: 5 },
    'inspection.tls-cert': { file: cert },
    'inspection.log-errors': { file: path.join(tmp.dir, 'app.log') },
    'inspection.backup-age': { path: path.join(tmp.dir, 'backups') },
  });
});

afterAll(async () => {
  await ssh?.close();
  await sshd?.dispose();
  await tmp?.remove();
});

/** Checks that need systemd as PID 1 (absent in this container): they must say so. */
const needsSystemd = new Set([
  'inspection.failed-units',
  'inspection.unit-active',
  'inspection.time-sync',
]);

describe('every collector over a real sshd', () => {
  it.each(inspectionCheckNames)(
    '%s gives well-formed findings over SSH, unknown only with a reason',
    async (name) => {
      const findings = await inspect(name);
      expectWellFormed(name, findings);
      for (const f of findings) {
        if (f.status === 'unknown') {
          expect(needsSystemd.has(name), `${name}: ${f.message}`).toBe(true);
          expect(f.message).toMatch(/systemd|not available/);
        }
      }
    },
  );

  it('grades what the test set up: sshd process and port, a 20-day certificate, a 30 h old backup, 2 log errors', async () => {
    expect((await inspect('inspection.process'))[0]).toMatchObject({ status: 'ok' });
    expect((await inspect('inspection.port-listening'))[0]).toMatchObject({
      status: 'ok',
      value: true,
    });
    expect((await inspect('inspection.endpoint'))[0]).toMatchObject({ status: 'ok', value: true });
    expect((await inspect('inspection.tls-cert'))[0]).toMatchObject({
      status: 'warn',
      value: 19,
      unit: 'days',
    });
    expect((await inspect('inspection.backup-age'))[0]).toMatchObject({
      status: 'warn',
      value: 30,
    });
    expect((await inspect('inspection.log-errors'))[0]).toMatchObject({ status: 'ok', value: 2 });
  });

  it('a host with BusyBox only (Alpine userland) still answers, and says which tools it lacks', async () => {
    const env = { PATH: busyboxBin };
    for (const name of inspectionCheckNames) {
      const findings = await inspect(name, withs[name] ?? {}, env);
      expectWellFormed(name, findings);
      for (const f of findings.filter((x) => x.status === 'unknown'))
        expect(f.message, name).toMatch(/not available on the host: \S+/);
    }
    // BusyBox has df, ps and /proc readers: the basics are measured, not unknown.
    for (const name of ['inspection.disk', 'inspection.memory', 'inspection.load'])
      expect((await inspect(name, {}, env))[0]?.status, name).not.toBe('unknown');
    const tls = await inspect('inspection.tls-cert', withs['inspection.tls-cert'], env);
    expect(tls[0]).toMatchObject({ status: 'unknown', value: null });
    expect(tls[0]?.message).toContain('openssl');
  });

  it('a host without any tool gives unknown with the missing tool named, never a crash', async () => {
    const env = { PATH: bareBin };
    const missing = new Map<string, string>([
      ['inspection.disk', 'df'],
      ['inspection.inodes', 'df'],
      ['inspection.process', 'ps'],
      ['inspection.zombies', 'ps'],
      ['inspection.failed-units', 'systemctl'],
      ['inspection.tls-cert', 'openssl'],
      ['inspection.oom-kills', 'dmesg'],
      ['inspection.security-updates', 'apt-get'],
    ]);
    for (const name of inspectionCheckNames) {
      const findings = await inspect(name, withs[name] ?? {}, env);
      expectWellFormed(name, findings);
      const tool = missing.get(name);
      if (tool) {
        expect(findings[0]).toMatchObject({ status: 'unknown', value: null, threshold: null });
        expect(findings[0]?.message, name).toContain(tool);
      }
    }
  });
});

describeAgreementWithTools(
  'findings over SSH agree with df, free and nproc run directly on the same machine',
  (check) => inspect(check),
);
