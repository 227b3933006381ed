import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Finding,
  findingSchema,
  inspectionCheckNames,
  inspectionChecks,
  runCheck,
} from '../src/index.js';
import { describeAgreementWithTools } from './tools-agreement.js';

const exec = promisify(execFile);
let dir = '';
let httpServer: http.Server;
let tlsServer: tls.Server;
let zombieParent: ChildProcess;
const withs: Record<string, object> = {};

/** Runs a collector the way the runner will: one `sh -c`, stdout handed to runCheck. */
async function inspect(name: string, withValue: object = withs[name] ?? {}): Promise<Finding[]> {
  const check = inspectionChecks[name as keyof typeof inspectionChecks];
  const { stdout } = await exec('/bin/sh', ['-c', check.collect(withValue as never)], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return runCheck(name, withValue, stdout, 'localhost');
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'opsbook-inspection-local-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '20',
      '-subj',
      '/CN=localhost',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  // The certificate is valid for exactly 20 days from the second it was made, and the check
  // counts whole days left against the host's clock in seconds: in that same second it is 20,
  // in every later one 19. Wait out that second so the expected value is 19, not a race.
  await new Promise((r) =>
    setTimeout(r, (Math.floor(Date.now() / 1000) + 1) * 1000 - Date.now() + 5),
  );
  const cert = readFileSync(path.join(dir, 'cert.pem'));
  const key = readFileSync(path.join(dir, 'key.pem'));
  httpServer = http.createServer((_q, r) => r.end('ok'));
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  tlsServer = tls.createServer({ cert, key }, (s) => s.end());
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  const httpPort = (httpServer.address() as AddressInfo).port;
  const tlsPort = (tlsServer.address() as AddressInfo).port;
  mkdirSync(path.join(dir, 'backups'));
  const backup = path.join(dir, 'backups', 'nightly.tar');
  writeFileSync(backup, 'backup');
  const t = Date.now() / 1000 - 30 * 3600;
  utimesSync(backup, t, t);
  writeFileSync(path.join(dir, 'app.log'), 'ok\nERROR one\nfine\nFatal two\n');
  // The child `sleep 0` exits; its parent exec's into a sleep that never reaps it: one zombie.
  zombieParent = spawn('sh', ['-c', 'sleep 0 & exec sleep 300'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  Object.assign(withs, {
    'inspection.unit-active': { unit: 'ssh' },
    'inspection.process': { pattern: `sleep 300` },
    'inspection.port-listening': { port: httpPort, address: '127.0.0.1' },
    'inspection.endpoint': { url: `http://127.0.0.1:${httpPort}/` },
    'inspection.tls-cert': { host: '127.0.0.1', port: tlsPort },
    'inspection.log-errors': { file: path.join(dir, 'app.log') },
    'inspection.backup-age': { path: path.join(dir, 'backups') },
  });
});

afterAll(async () => {
  if (zombieParent?.pid) process.kill(zombieParent.pid);
  await new Promise((r) => httpServer?.close(r));
  await new Promise((r) => tlsServer?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('every collector on this machine, through a real sh', () => {
  /** Checks that need systemd as PID 1; on a host without it they must say so. */
  const needsSystemd = new Set([
    'inspection.failed-units',
    'inspection.unit-active',
    'inspection.time-sync',
  ]);

  it.each(inspectionCheckNames)(
    '%s gives well-formed findings, unknown only with a reason',
    async (name) => {
      const findings = await inspect(name);
      expect(findings.length).toBeGreaterThan(0);
      for (const f of findings) {
        expect(Object.keys(f).every((k) => k in findingSchema.properties)).toBe(true);
        if (f.status === 'unknown') {
          expect(needsSystemd.has(name), `${name}: ${f.message}`).toBe(true);
          expect(f.message).toMatch(/systemd|not available/);
        }
      }
    },
  );

  it('grades what the test set up: HTTP 200, TLS 20 days (warn), a 30 h old backup (warn), 2 log errors, a zombie', async () => {
    expect((await inspect('inspection.endpoint'))[0]).toMatchObject({ status: 'ok' });
    expect(
      (
        await inspect('inspection.endpoint', {
          host: '127.0.0.1',
          port: (withs['inspection.port-listening'] as { port: number }).port,
        })
      )[0],
    ).toMatchObject({ status: 'ok', value: true });
    expect((await inspect('inspection.tls-cert'))[0]).toMatchObject({
      status: 'warn',
      value: 19,
      unit: 'days',
    });
    expect(
      (await inspect('inspection.tls-cert', { file: path.join(dir, 'cert.pem') }))[0]?.value,
    ).toBe(19);
    expect((await inspect('inspection.backup-age'))[0]).toMatchObject({
      status: 'warn',
      value: 30,
    });
    expect((await inspect('inspection.log-errors'))[0]).toMatchObject({ status: 'ok', value: 2 });
    expect((await inspect('inspection.zombies'))[0]?.value).toBeGreaterThanOrEqual(1);
    expect((await inspect('inspection.process'))[0]).toMatchObject({ status: 'ok' });
    expect((await inspect('inspection.port-listening'))[0]).toMatchObject({
      status: 'ok',
      value: true,
    });
  });

  it('reports a closed port and a refused endpoint as crit', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expect((await inspect('inspection.port-listening', { port }))[0]?.status).toBe('crit');
    expect(
      (await inspect('inspection.endpoint', { url: `http://127.0.0.1:${port}/`, timeout_s: 2 }))[0]
        ?.status,
    ).toBe('crit');
    expect(
      (await inspect('inspection.endpoint', { host: '127.0.0.1', port, timeout_s: 2 }))[0]?.status,
    ).toBe('crit');
  });
});

describeAgreementWithTools('findings agree with the tools run directly', (check) => inspect(check));
