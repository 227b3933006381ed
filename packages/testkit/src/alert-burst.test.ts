import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { makeAlertBurst, postWebhooks } from './alert-burst.js';
import { findFreePort } from './sshd.js';

describe('makeAlertBurst', () => {
  it('spreads 2,000 alerts over 200 hosts, one post per host, each alert with its own fingerprint', () => {
    const payloads = makeAlertBurst({ alerts: 2000, hosts: 200 });
    expect(payloads).toHaveLength(200);
    const alerts = payloads.flatMap((p) => p.alerts);
    expect(alerts).toHaveLength(2000);
    expect(new Set(alerts.map((a) => a.fingerprint)).size).toBe(2000);
    expect(new Set(alerts.map((a) => a.labels.host)).size).toBe(200);
    expect(new Set(alerts.map((a) => a.labels.cluster))).toEqual(
      new Set(['cluster-1', 'cluster-2', 'cluster-3', 'cluster-4']),
    );
    const [first] = payloads;
    expect(first).toMatchObject({
      version: '4',
      status: 'firing',
      groupLabels: { cluster: 'cluster-1', host: 'host-001' },
      commonLabels: { cluster: 'cluster-1', host: 'host-001', service: 'svc-1', job: 'node' },
    });
    expect(first!.alerts).toHaveLength(10);
  });

  it('tells kinds past ten apart by device, so no two alerts of a host share a label set', () => {
    const alerts = makeAlertBurst({ alerts: 25, hosts: 1 }).flatMap((p) => p.alerts);
    expect(alerts).toHaveLength(25);
    expect(new Set(alerts.map((a) => a.fingerprint)).size).toBe(25);
    expect(alerts[10]!.labels.device).toBe('sdb1');
  });
});

describe('postWebhooks', () => {
  it('answers each post with its status, and with the error when nothing listens', async () => {
    let seen = 0;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        seen++;
        res.writeHead(seen % 2 === 0 ? 500 : 200).end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const bodies = Array.from({ length: 10 }, (_, i) => JSON.stringify({ i }));
    const outcomes = await postWebhooks(`http://127.0.0.1:${port}/`, bodies, { concurrency: 1 });
    await new Promise((r) => server.close(r));
    expect(outcomes.map((o) => ('status' in o ? o.status : 0))).toEqual([
      200, 500, 200, 500, 200, 500, 200, 500, 200, 500,
    ]);
    const closed = await findFreePort('127.0.0.1');
    const refused = await postWebhooks(`http://127.0.0.1:${closed}/`, ['{}']);
    expect(refused[0]).toMatchObject({ error: expect.stringContaining('ECONNREFUSED') });
  });
});
