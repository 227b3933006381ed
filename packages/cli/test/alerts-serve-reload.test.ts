import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe, webhookBody } from './alerts-server.js';
import { runCli, stackTrace } from './run-cli.js';

const CONFIG = 'apiVersion: opsbook/v1\nkind: Config\nstateDir: .opsbook\n';
const rules = (version: number, correlate: string) =>
  `apiVersion: opsbook/v1\nkind: AlertRules\nversion: ${version}\ncorrelate:\n  - ${correlate}\nownership:\n  default: {roundRobin: [eve]}\n`;

/** A version 4 body holding one firing alert. */
function body(alertname: string, cluster: string, fingerprint: string): object {
  return webhookBody({
    labels: { alertname, cluster, severity: 'warning', host: `${cluster}-web` },
    startsAt: new Date(Date.now() - 60_000).toISOString(),
    fingerprint,
  });
}

interface Listed {
  id: string;
  alerts: number;
  rule: string;
  ticket: string | null;
  waiting: boolean;
}

describe('opsbook alerts serve reloads alerts.yaml', () => {
  let temp: { dir: string; remove: () => Promise<void> };
  let serve: ServeProcess | undefined;
  beforeEach(async () => {
    temp = await makeTempDir('opsbook-alerts-serve-reload-');
    await writeFile(path.join(temp.dir, 'opsbook.yaml'), CONFIG);
  });
  afterEach(async () => {
    if (serve && serve.child.exitCode === null) await serve.stop('SIGKILL');
    serve = undefined;
    await temp.remove();
  });

  const list = async () =>
    (
      JSON.parse((await runCli(['alerts', 'list', '--json'], { cwd: temp.dir })).stdout) as {
        incidents: Listed[];
      }
    ).incidents;
  const rulesVersion = async (id: string) =>
    (
      JSON.parse((await runCli(['alerts', 'show', id, '--json'], { cwd: temp.dir })).stdout) as {
        incident: { rulesVersion: number };
      }
    ).incident.rulesVersion;

  async function until<T>(what: () => T | Promise<T>, done: (v: T) => boolean): Promise<T> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const v = await what();
      if (done(v)) return v;
      if (Date.now() > deadline) throw new Error(`timed out; stderr:\n${serve?.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const settled = (alerts: number) =>
    until(list, (l) => l.reduce((n, i) => n + i.alerts, 0) >= alerts && l.every((i) => i.ticket));

  it('takes rules written and edited after start at the next pass, and keeps the last good ones on an invalid edit, saying where once', async () => {
    serve = await startServe(['--listen', '127.0.0.1:0'], { cwd: temp.dir });
    expect((await serve.post(body('A', 'c1', '00000000000000a1'))).status).toBe(200);
    // Written after start: the next delivery's pass reloads it, and converges A too.
    await writeFile(
      path.join(temp.dir, 'alerts.yaml'),
      rules(1, '{name: cluster, by: {labels: [cluster]}}'),
    );
    expect((await serve.post(body('B', 'c1', '00000000000000b1'))).status).toBe(200);
    const first = await settled(2);
    expect(first.map((i) => [i.id, i.alerts, i.rule])).toEqual([['INC-1', 2, 'cluster']]);
    expect(serve.stderr()).toMatch(/^rules reloaded: alerts\.yaml version 1$/m);

    // An edit that does not load: version 1 stays in force, the error is said once.
    await writeFile(
      path.join(temp.dir, 'alerts.yaml'),
      rules(2, '{name: by-alert, by: {labelz: [alertname]}}'),
    );
    expect((await serve.post(body('C', 'c2', '00000000000000c1'))).status).toBe(200);
    expect((await serve.post(body('D', 'c2', '00000000000000d1'))).status).toBe(200);
    const kept = await settled(4);
    expect(kept.find((i) => i.alerts === 2 && i.id !== 'INC-1')?.rule).toBe('cluster');
    expect(serve.stderr()).toMatch(
      /^rules not reloaded \(ALERT_RULES_INVALID\), keeping alerts\.yaml version 1:\n.*alerts\.yaml:5:\d+: /m,
    );
    expect(serve.stderr().match(/rules not reloaded/g)).toHaveLength(1);

    // Fixed, and SIGHUP: reloaded without waiting for an alert; the next incident is by version 2.
    await writeFile(
      path.join(temp.dir, 'alerts.yaml'),
      rules(2, '{name: by-alert, by: {labels: [alertname]}}'),
    );
    serve.child.kill('SIGHUP');
    await until(serve.stderr, (e) => /^rules reloaded: alerts\.yaml version 2$/m.test(e));
    expect((await serve.post(body('E', 'c3', '00000000000000e1'))).status).toBe(200);
    const after = await settled(5);
    const e = after.find((i) => i.rule === 'by-alert')!;
    expect(await rulesVersion(e.id)).toBe(2);
    expect(await rulesVersion('INC-1')).toBe(1);
    expect(await serve.stop()).toBe(0);
    expect(serve.stderr()).not.toMatch(stackTrace);
  });

  it('reloads when only an on-call file alerts.yaml names changed: the next incident goes to who is on call now', async () => {
    const onCall = (person: string) =>
      `apiVersion: opsbook/v1\nkind: OnCall\nshifts:\n  - {from: "2020-01-01T00:00:00Z", person: ${person}}\n`;
    await writeFile(
      path.join(temp.dir, 'alerts.yaml'),
      'apiVersion: opsbook/v1\nkind: AlertRules\nversion: 4\ncorrelate:\n  - {name: cluster, by: {labels: [cluster]}}\nownership:\n  default: {onCall: oncall.yaml}\n',
    );
    await writeFile(path.join(temp.dir, 'oncall.yaml'), onCall('olga'));
    serve = await startServe(['--listen', '127.0.0.1:0'], { cwd: temp.dir });
    expect((await serve.post(body('A', 'c1', '00000000000000a1'))).status).toBe(200);
    await settled(1);
    await writeFile(path.join(temp.dir, 'oncall.yaml'), onCall('omar'));
    expect((await serve.post(body('B', 'c2', '00000000000000b1'))).status).toBe(200);
    const incidents = await settled(2);
    const assignees = JSON.parse(
      (await runCli(['alerts', 'list', '--json'], { cwd: temp.dir })).stdout,
    ) as { incidents: Array<{ id: string; assignee: string }> };
    expect(Object.fromEntries(assignees.incidents.map((i) => [i.id, i.assignee]))).toEqual({
      'INC-1': 'olga',
      'INC-2': 'omar',
    });
    expect(incidents).toHaveLength(2);
    expect(serve.stderr().match(/^rules reloaded: alerts\.yaml version 4$/gm)).toHaveLength(1);
    expect(await serve.stop()).toBe(0);
  });
});
