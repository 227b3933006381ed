import { existsSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { alertFingerprint } from './alert-burst.js';
import { type AlertingStack, startAlertingStack, startPrometheus } from './alertmanager.js';
import { fakeHosts, type MetricsExporter, startMetricsExporter } from './metrics-exporter.js';

interface Delivery {
  headers: IncomingHttpHeaders;
  // biome-ignore lint/suspicious/noExplicitAny: a webhook body as Alertmanager sent it, checked below
  body: any;
}

/** A plain node HTTP server that records every webhook post and answers 200. */
async function startRecordingReceiver(): Promise<{
  url: string;
  deliveries: Delivery[];
  close: () => Promise<void>;
}> {
  const deliveries: Delivery[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
    });
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body: JSON.parse(text) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    deliveries,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Polls until `found` gives a value; fails with both daemons' logs if it never does. */
async function eventually<T>(
  stack: AlertingStack,
  what: string,
  found: () => T | undefined,
): Promise<T> {
  for (let i = 0; i < 900; i++) {
    const value = found();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `never saw ${what}; held alerts: ${JSON.stringify(
      await stack.alertmanager.alerts().catch((e) => String(e)),
    )}\n${stack.log()}`,
  );
}

const DISK_FULL = {
  alert: 'DiskFull',
  expr: 'node_filesystem_avail_ratio < 0.1',
  labels: { severity: 'critical' },
  annotations: { summary: 'disk almost full on {{ $labels.host }}' },
};

describe('startAlertingStack', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function world(
    webhook: { bearerToken?: string; basicAuth?: { username: string; password: string } },
    groupBy?: string[],
  ) {
    const receiver = await startRecordingReceiver();
    cleanups.push(receiver.close);
    const exporter: MetricsExporter = await startMetricsExporter();
    cleanups.push(exporter.close);
    const hosts = fakeHosts(3, { clusters: ['cluster-a'], services: ['checkout'] });
    for (const host of hosts) exporter.set('node_filesystem_avail_ratio', host, 0.5);
    const stack = await startAlertingStack({
      webhook: { url: receiver.url, ...webhook },
      scrapeTargets: [exporter.target],
      rules: [DISK_FULL],
      ...(groupBy ? { groupBy } : {}),
    });
    cleanups.push(stack.dispose);
    return { receiver, exporter, hosts, stack };
  }

  it('fires an alert on the exporter metric and posts a version 4 webhook with the bearer token, then the resolution', async () => {
    const { receiver, exporter, hosts, stack } = await world({ bearerToken: 'test-token-1' });
    exporter.set('node_filesystem_avail_ratio', hosts[0]!, 0.02);
    exporter.set('node_filesystem_avail_ratio', hosts[1]!, 0.05);

    const firing = await eventually(stack, 'both DiskFull alerts posted as firing', () => {
      const alerts = receiver.deliveries
        .flatMap((d) => d.body.alerts)
        .filter((a) => a.status === 'firing');
      const hostsSeen = new Set(alerts.map((a) => a.labels.host));
      return hostsSeen.size === 2 ? receiver.deliveries[0] : undefined;
    });
    expect(firing.headers.authorization).toBe('Bearer test-token-1');
    expect(firing.headers['content-type']).toBe('application/json');
    const body = firing.body;
    expect(body).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'opsbook',
      groupLabels: { alertname: 'DiskFull', cluster: 'cluster-a' },
      externalURL: stack.alertmanager.url,
      truncatedAlerts: 0,
    });
    expect(body.groupKey).toContain('alertname="DiskFull"');
    const first = body.alerts.find(
      (a: { labels: { host: string } }) => a.labels.host === 'host-001',
    );
    expect(first).toMatchObject({
      status: 'firing',
      labels: {
        alertname: 'DiskFull',
        instance: 'host-001:9100',
        host: 'host-001',
        cluster: 'cluster-a',
        service: 'checkout',
        severity: 'critical',
        job: 'opsbook-test',
      },
      annotations: { summary: 'disk almost full on host-001' },
      endsAt: '0001-01-01T00:00:00Z',
    });
    expect(first.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    // makeAlertBurst's fingerprints are the real Alertmanager's.
    expect(alertFingerprint(first.labels)).toBe(first.fingerprint);
    expect(Number.isNaN(Date.parse(first.startsAt))).toBe(false);
    expect(first.generatorURL.startsWith(`${stack.prometheus.url}/graph?`)).toBe(true);
    expect(
      receiver.deliveries.flatMap((d) =>
        d.body.alerts.map((a: { labels: { host: string } }) => a.labels.host),
      ),
    ).not.toContain('host-003');

    exporter.set('node_filesystem_avail_ratio', hosts[0]!, 0.6);
    const resolved = await eventually(stack, 'host-001 posted as resolved', () =>
      receiver.deliveries
        .flatMap((d) => d.body.alerts)
        .find((a) => a.labels.host === 'host-001' && a.status === 'resolved'),
    );
    expect(resolved.fingerprint).toBe(first.fingerprint);
    expect(resolved.startsAt).toBe(first.startsAt);
    expect(resolved.endsAt).not.toBe('0001-01-01T00:00:00Z');
  });

  it('sends basic auth, posts each alert alone with group_by ..., and leaves nothing behind on dispose', async () => {
    const { receiver, exporter, hosts, stack } = await world(
      { basicAuth: { username: 'alertmanager', password: 'p@ss:word' } },
      ['...'],
    );
    for (const host of hosts) exporter.set('node_filesystem_avail_ratio', host, 0.01);
    await eventually(stack, 'three posts', () =>
      receiver.deliveries.length >= 3 ? true : undefined,
    );
    const expected = `Basic ${Buffer.from('alertmanager:p@ss:word').toString('base64')}`;
    for (const delivery of receiver.deliveries) {
      expect(delivery.headers.authorization).toBe(expected);
      expect(delivery.body.alerts).toHaveLength(1);
    }
    expect(new Set(receiver.deliveries.map((d) => d.body.alerts[0].labels.host))).toEqual(
      new Set(['host-001', 'host-002', 'host-003']),
    );
    expect(exporter.scrapes()).toBeGreaterThan(0);

    const pids = [stack.prometheus.pid, stack.alertmanager.pid];
    const dirs = [stack.prometheus.dir, stack.alertmanager.dir];
    await stack.dispose();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    for (const dir of dirs) expect(existsSync(dir)).toBe(false);
  });

  it('fails, naming the Debian package, when a binary is missing', async () => {
    await expect(
      startPrometheus({ scrapeTargets: [], rules: [], binary: '/nonexistent/prometheus' }),
    ).rejects.toThrow(
      'Prometheus not found at /nonexistent/prometheus: install the Debian package prometheus',
    );
  });
});
