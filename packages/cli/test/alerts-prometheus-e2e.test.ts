import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AlertRecord } from '@opsbook/alerts';
import { alertFingerprint, clusterAlertRules } from '@opsbook/testkit/alert-burst';
import { type AlertingStack, startAlertingStack } from '@opsbook/testkit/alertmanager';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import {
  type FakeHost,
  fakeHosts,
  type MetricsExporter,
  startMetricsExporter,
} from '@opsbook/testkit/metrics-exporter';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe } from './alerts-server.js';
import { runCli } from './run-cli.js';

/*
 * The whole chain with real parts: an exporter serving node-like gauges for eight fake hosts in
 * two clusters, a real Prometheus scraping it every second and firing rules on it, a real
 * Alertmanager grouping the alerts and posting its webhook with a bearer token, into the built
 * `opsbook alerts serve` with an alerts.yaml, which converges, grades and dispatches tickets into
 * the spec-validating Jira fake (Cloud).
 */

const TOKEN = 'e2e-token-4f7c';

/** A Jira field's text, whatever its form (ADF on Cloud). */
const plain = (value: unknown) => JSON.stringify(value).replaceAll('\\\\', '');

describe('Prometheus -> Alertmanager -> opsbook alerts serve -> Jira', () => {
  let temp: { dir: string; remove: () => Promise<void> };
  let jira: JiraFake;
  let serve: ServeProcess;
  let exporter: MetricsExporter;
  let stack: AlertingStack;
  let hosts: FakeHost[];

  async function stored(): Promise<AlertRecord[]> {
    const dir = path.join(temp.dir, 'state', 'alerts', 'intake');
    const records: AlertRecord[] = [];
    for (const name of await readdir(dir).catch(() => [] as string[]))
      for (const line of (await readFile(path.join(dir, name), 'utf8')).split('\n'))
        if (line) records.push(JSON.parse(line) as AlertRecord);
    return records;
  }

  /** Polls until `found` gives a value; fails with every log if it never does. */
  async function until<T>(what: string, found: () => Promise<T | undefined>): Promise<T> {
    for (let i = 0; i < 900; i++) {
      const value = await found();
      if (value !== undefined) return value;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `never saw ${what}; stored: ${JSON.stringify(await stored())}\nJira: ${JSON.stringify(jira.issues().map((i) => ({ key: i.key, summary: i.summary, comments: i.comments.length })))}\n--- opsbook ---\n${serve.stderr()}\n${stack.log()}`,
    );
  }

  const ticketOf = (cluster: string) =>
    jira.issues().find((i) => i.summary.includes(`(cluster=${cluster})`));

  beforeAll(async () => {
    temp = await makeTempDir('opsbook-alerts-e2e-');
    jira = await startJiraFake({ flavour: 'cloud', basePath: '/ex/jira/e2e' });
    await writeFile(
      path.join(temp.dir, 'opsbook.yaml'),
      'apiVersion: opsbook/v1\nkind: Config\nstateDir: state\ntracker: {kind: jira, jira: {project: OPS, flavour: cloud}}\n',
    );
    await writeFile(
      path.join(temp.dir, 'alerts.yaml'),
      // One incident per cluster; critical on two hosts or more is P1, a warning P3.
      clusterAlertRules({
        owners: jira.users.map((u) => u.accountId),
        p1MinHosts: 2,
        warningsP3: true,
        version: 3,
      }),
    );
    serve = await startServe(['--listen', '127.0.0.1:0', '--verbose'], {
      cwd: temp.dir,
      env: { ...jira.env, OPSBOOK_ALERTS_TOKEN: TOKEN },
    });
    exporter = await startMetricsExporter();
    // cluster-a (checkout): host-001, -003, -005, -007; cluster-b (search): the even ones.
    hosts = fakeHosts(8, {
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
    await jira?.closeExpectingNone();
  });

  it('stores each alert once, converges them into one graded, assigned ticket per cluster, and adds later alerts and resolutions as one comment per batch', async () => {
    const [h1, h2, h3, , h5, , h7] = hosts;
    exporter.set('node_filesystem_avail_ratio', h1!, 0.03);
    exporter.set('node_filesystem_avail_ratio', h5!, 0.04);
    exporter.set('node_load1', h2!, 9);

    // Intake: what Alertmanager posted, stored once each, as it sent it.
    const firing = await until('three firing alerts stored', async () => {
      const rs = await stored();
      return new Set(rs.map((r) => r.fingerprint)).size === 3 ? rs : undefined;
    });
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

    // Dispatch: one ticket per cluster, graded by the rules, assigned round robin; the ticket
    // with a suggested runbook gets the command proposing it, with its key, as its first comment.
    const [a, b] = await until('an assigned ticket for each cluster', async () => {
      const ta = ticketOf('cluster-a');
      const tb = ticketOf('cluster-b');
      return ta?.assignee && tb?.assignee && ta.comments.length > 0 ? [ta, tb] : undefined;
    });
    expect(jira.issues()).toHaveLength(2);
    expect(a!.summary).toMatch(/^\[P1\] DiskFull on 2 hosts \(cluster=cluster-a\) — INC-\d+$/);
    expect(a!.priority).toBe('Highest');
    expect(b!.summary).toMatch(/^\[P3\] HighLoad on host-002 \(cluster=cluster-b\) — INC-\d+$/);
    expect(new Set([a!.assignee?.displayName, b!.assignee?.displayName])).toEqual(
      new Set(jira.users.map((u) => u.displayName)),
    );
    const description = plain(a!.description);
    expect(description).toContain('2 alerts on 2 hosts');
    expect(description).toContain('P1 by grading rule 1');
    expect(description).toContain('host-001, host-005');
    expect(description).toContain(stack.prometheus.url);
    expect(description).toContain('disk-cleanup');
    expect(a!.comments.map((c) => plain(c.body))).toEqual([
      expect.stringContaining(`opsbook ticket propose ${a!.key} --runbook disk-cleanup`),
    ]);

    // Two more hosts of cluster-a fill up in the same scrape: one comment naming both.
    exporter.set('node_filesystem_avail_ratio', h3!, 0.02);
    exporter.set('node_filesystem_avail_ratio', h7!, 0.02);
    const added = await until('a comment on the cluster-a ticket', async () =>
      ticketOf('cluster-a')!.comments.length > 1 ? ticketOf('cluster-a')!.comments : undefined,
    );
    expect(added).toHaveLength(2);
    const comment = plain(added[1]!.body);
    expect(comment).toContain('2 new alerts');
    expect(comment).toContain('host-003');
    expect(comment).toContain('host-007');

    // host-001 recovers: stored as the resolution of the same alert; the ticket says so, and stays open.
    exporter.set('node_filesystem_avail_ratio', h1!, 0.7);
    const after = await until('host-001 resolved', async () => {
      const rs = await stored();
      return rs.some((r) => r.labels.host === 'host-001' && r.status === 'resolved')
        ? rs
        : undefined;
    });
    const resolved = after.find((r) => r.status === 'resolved')!;
    expect(resolved.fingerprint).toBe(disk.fingerprint);
    expect(resolved.startsAt).toBe(disk.startsAt);
    expect(Date.parse(resolved.endsAt!)).toBeGreaterThan(Date.parse(disk.startsAt));
    const comments = await until('the resolution on the ticket', async () => {
      const cs = ticketOf('cluster-a')!.comments;
      return cs.length >= 3 ? cs : undefined;
    });
    expect(plain(comments[2]!.body)).toContain('1 resolved');
    expect(plain(comments[2]!.body)).toContain('3 alerts firing of 4');

    const list = await runCli(['alerts', 'list', '--json'], { cwd: temp.dir, env: jira.env });
    expect(list.code, list.stderr).toBe(0);
    const incidents = JSON.parse(list.stdout).incidents as Array<Record<string, unknown>>;
    expect(
      incidents
        .map((i) => [i.keys, i.grade, i.firing, i.alerts, i.hosts, i.ticket, i.open])
        .sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    ).toEqual([
      [
        ['cluster=cluster-a'],
        'P1',
        3,
        4,
        ['host-001', 'host-003', 'host-005', 'host-007'],
        a!.key,
        true,
      ],
      [['cluster=cluster-b'], 'P3', 1, 1, ['host-002'], b!.key, true],
    ]);

    // Alertmanager re-posts a group whenever it changes: the alerts it had sent already came
    // again, were not stored again, and put nothing more on the tickets.
    const keys = after.map((r) => `${r.fingerprint}|${r.startsAt}|${r.status}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(serve.stderr()).toMatch(/: \d+ stored, [1-9]\d* already stored/);
    expect(serve.stderr()).not.toMatch(/refused|could not store|failed/);
    expect(jira.issues()).toHaveLength(2);
    expect(ticketOf('cluster-a')!.comments).toHaveLength(3);
    expect(ticketOf('cluster-b')!.comments).toHaveLength(0);
    expect(ticketOf('cluster-a')!.status).not.toMatch(/done/i);
  });
});
