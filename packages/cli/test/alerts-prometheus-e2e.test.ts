import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { alertFingerprint } from '@opsbook/testkit/alert-burst';
import { type AlertingStack, startAlertingStack } from '@opsbook/testkit/alertmanager';
import {
  type FakeHost,
  fakeHosts,
  type MetricsExporter,
  startMetricsExporter,
} from '@opsbook/testkit/metrics-exporter';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe } from './alerts-server.js';

/*
 * The whole chain with real parts: an exporter serving node-like gauges for six fake hosts, a
 * real Prometheus scraping it every second and firing rules on it, a real Alertmanager grouping
 * the alerts and posting its webhook with a bearer token, into the built `opsbook alerts serve`.
 */

interface Stored {
  fingerprint: string;
  startsAt: string;
  status: 'firing' | 'resolved';
  endsAt?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  generatorURL?: string;
  receiver?: string;
}

const TOKEN = 'e2e-token-4f7c';

describe('Prometheus -> Alertmanager -> opsbook alerts serve', () => {
  let temp: { dir: string; remove: () => Promise<void> };
  let serve: ServeProcess;
  let exporter: MetricsExporter;
  let stack: AlertingStack;
  let hosts: FakeHost[];

  async function stored(): Promise<Stored[]> {
    const dir = path.join(temp.dir, 'state', 'alerts', 'intake');
    const records: Stored[] = [];
    for (const name of await readdir(dir).catch(() => [] as string[]))
      for (const line of (await readFile(path.join(dir, name), 'utf8')).split('\n'))
        if (line) records.push(JSON.parse(line) as Stored);
    return records;
  }

  /** Polls the intake until `found` says yes; fails with every log if it never does. */
  async function until(what: string, found: (records: Stored[]) => boolean): Promise<Stored[]> {
    for (let i = 0; i < 900; i++) {
      const records = await stored();
      if (found(records)) return records;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `never stored ${what}; stored: ${JSON.stringify(await stored())}\n--- opsbook ---\n${serve.stderr()}\n${stack.log()}`,
    );
  }

  beforeAll(async () => {
    temp = await makeTempDir('opsbook-alerts-e2e-');
    await writeFile(
      path.join(temp.dir, 'opsbook.yaml'),
      'apiVersion: opsbook/v1\nkind: Config\nstateDir: state\ntracker: {kind: local}\n',
    );
    serve = await startServe(['--listen', '127.0.0.1:0', '--verbose'], {
      cwd: temp.dir,
      env: { OPSBOOK_ALERTS_TOKEN: TOKEN },
    });
    exporter = await startMetricsExporter();
    hosts = fakeHosts(6, {
      clusters: ['cluster-a', 'cluster-b'],
      services: ['checkout', 'search'],
    });
    for (const host of hosts) {
      exporter.set('node_filesystem_avail_ratio', host, 0.5);
      exporter.set('node_load1', host, 0.3);
    }
    stack = await startAlertingStack({
      webhook: { url: `${serve.url}alerts`, bearerToken: TOKEN },
      scrapeTargets: [exporter.target],
      rules: [
        {
          alert: 'DiskFull',
          expr: 'node_filesystem_avail_ratio < 0.1',
          labels: { severity: 'critical' },
          annotations: { summary: 'disk almost full on {{ $labels.host }}' },
        },
        {
          alert: 'HighLoad',
          expr: 'node_load1 > 4',
          labels: { severity: 'warning' },
          annotations: { summary: 'load {{ $value }} on {{ $labels.host }}' },
        },
      ],
    });
  });

  afterAll(async () => {
    await stack?.dispose();
    await exporter?.close();
    if (serve && serve.child.exitCode === null) await serve.stop('SIGKILL');
    await temp?.remove();
  });

  it('stores every alert Alertmanager posts, once, with its labels, and then its resolution', async () => {
    // cluster-a (checkout) is host-001, -003, -005; cluster-b (search) -002, -004, -006.
    const [h1, h2, , , h5] = hosts;
    exporter.set('node_filesystem_avail_ratio', h1!, 0.03);
    exporter.set('node_filesystem_avail_ratio', h5!, 0.04);
    exporter.set('node_load1', h2!, 9);

    const firing = await until(
      'three firing alerts',
      (rs) => new Set(rs.map((r) => r.fingerprint)).size === 3,
    );
    expect(firing.map((r) => `${r.labels.alertname} ${r.labels.host}`).sort()).toEqual([
      'DiskFull host-001',
      'DiskFull host-005',
      'HighLoad host-002',
    ]);
    for (const r of firing) {
      expect(r.status).toBe('firing');
      expect(r.receiver).toBe('opsbook');
      expect(r.fingerprint).toBe(alertFingerprint(r.labels));
      expect(r.generatorURL?.startsWith(`${stack.prometheus.url}/graph?`)).toBe(true);
      expect(r.endsAt).toBeUndefined();
    }
    const disk = firing.find((r) => r.labels.host === 'host-001')!;
    expect(disk.labels).toEqual({
      alertname: 'DiskFull',
      cluster: 'cluster-a',
      host: 'host-001',
      instance: 'host-001:9100',
      job: 'opsbook-test',
      service: 'checkout',
      severity: 'critical',
    });
    expect(disk.annotations).toEqual({ summary: 'disk almost full on host-001' });

    exporter.set('node_filesystem_avail_ratio', h1!, 0.7);
    const after = await until('host-001 resolved', (rs) =>
      rs.some((r) => r.labels.host === 'host-001' && r.status === 'resolved'),
    );
    const resolved = after.find((r) => r.status === 'resolved')!;
    expect(resolved.fingerprint).toBe(disk.fingerprint);
    expect(resolved.startsAt).toBe(disk.startsAt);
    expect(Date.parse(resolved.endsAt!)).toBeGreaterThan(Date.parse(disk.startsAt));

    // Alertmanager re-posts a group whenever it changes (group_interval 1s): the firing alerts of
    // cluster-a's group came again with the resolution, and were not stored again.
    const keys = after.map((r) => `${r.fingerprint}|${r.startsAt}|${r.status}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(serve.stderr()).toMatch(/: \d+ stored, [1-9]\d* already stored/);
    expect(serve.stderr()).not.toMatch(/refused|could not store/);
  });
});
