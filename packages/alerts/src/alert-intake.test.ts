import { appendFile, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { webhookPayload } from './__fixtures__/webhook.js';
import { type AlertRecord, parseWebhookBody } from './alert.js';
import { AlertIntake } from './alert-intake.js';
import type { AlertStore } from './alert-store.js';
import { filesAlertStore } from './files-alert-store.js';

const at = new Date('2024-05-01T10:00:05Z');

function alertsOn(hosts: string[], status: 'firing' | 'resolved' = 'firing'): AlertRecord[] {
  const body = webhookPayload(
    hosts.map((h) => ({ status, labels: { alertname: 'DiskFull', host: h } })),
  );
  return parseWebhookBody(JSON.stringify(body), at, 'test');
}

async function storedLines(stateDir: string): Promise<AlertRecord[]> {
  const dir = path.join(stateDir, 'alerts', 'intake');
  const lines: AlertRecord[] = [];
  for (const name of await readdir(dir))
    for (const line of (await readFile(path.join(dir, name), 'utf8')).split('\n'))
      if (line) lines.push(JSON.parse(line) as AlertRecord);
  return lines;
}

describe('AlertIntake over the files store', () => {
  let temp: { dir: string; remove: () => Promise<void> };
  let store: AlertStore;

  beforeEach(async () => {
    temp = await makeTempDir('opsbook-intake-');
    store = filesAlertStore(temp.dir);
  });
  afterEach(async () => {
    await store.close();
    await temp.remove();
  });

  it('stores the alerts of 50 concurrent deliveries, each once, and every line is whole', async () => {
    const intake = new AlertIntake(store);
    const hosts = Array.from({ length: 200 }, (_, i) => `web-${i}`);
    // Overlapping windows of 8 hosts: every host is delivered twice, mostly concurrently.
    const windows = Array.from({ length: 50 }, (_, i) =>
      [...hosts, ...hosts].slice(i * 4, i * 4 + 8),
    );
    const calls = windows.map((w) => intake.accept(alertsOn(w)));
    const results = await Promise.all(calls);
    const lines = await storedLines(temp.dir);
    expect(new Set(lines.map((l) => l.labels.host)).size).toBe(lines.length);
    expect(lines.length).toBe(results.reduce((n, r) => n + r.accepted, 0));
    expect(results.reduce((n, r) => n + r.accepted + r.duplicates, 0)).toBe(400);
    expect(lines.length).toBe(200);
  });

  it('stores a retry once, and the resolution of the same alert as its own record', async () => {
    const intake = new AlertIntake(store);
    expect(await intake.accept(alertsOn(['db-1', 'db-2']))).toEqual({ accepted: 2, duplicates: 0 });
    expect(await intake.accept(alertsOn(['db-1', 'db-2']))).toEqual({ accepted: 0, duplicates: 2 });
    expect(await intake.accept(alertsOn(['db-1'], 'resolved'))).toEqual({
      accepted: 1,
      duplicates: 0,
    });
    expect((await storedLines(temp.dir)).map((l) => `${l.labels.host} ${l.status}`)).toEqual([
      'db-1 firing',
      'db-2 firing',
      'db-1 resolved',
    ]);
  });

  it("stores an alert firing again with the startsAt it resolved with, and that round's retries once, after a restart too", async () => {
    const intake = new AlertIntake(store);
    const once = { accepted: 1, duplicates: 0 };
    const again = { accepted: 0, duplicates: 1 };
    expect(await intake.accept(alertsOn(['db-1']))).toEqual(once);
    expect(await intake.accept(alertsOn(['db-1'], 'resolved'))).toEqual(once);
    expect(await intake.accept(alertsOn(['db-1'], 'resolved'))).toEqual(again);
    // Prometheus sends it again with the ActiveAt it kept: Alertmanager's startsAt is the same.
    expect(await intake.accept(alertsOn(['db-1']))).toEqual(once);
    expect(await intake.accept(alertsOn(['db-1']))).toEqual(again);
    await store.close();
    store = filesAlertStore(temp.dir);
    const restarted = new AlertIntake(store);
    await restarted.warm(new Date('2024-05-01T00:00:00Z'));
    expect(await restarted.accept(alertsOn(['db-1']))).toEqual(again);
    expect(await restarted.accept(alertsOn(['db-1'], 'resolved'))).toEqual(once);
    expect(await restarted.accept(alertsOn(['db-1']))).toEqual(once);
    expect((await storedLines(temp.dir)).map((l) => `${l.status} ${l.round ?? 0}`)).toEqual([
      'firing 0',
      'resolved 0',
      'firing 1',
      'resolved 1',
      'firing 2',
    ]);
  });

  it('remembers what an earlier process stored: a retry after a restart is not stored again', async () => {
    await new AlertIntake(store).accept(alertsOn(['db-1']));
    await store.close();
    store = filesAlertStore(temp.dir);
    const restarted = new AlertIntake(store);
    expect(await restarted.warm(new Date('2024-05-01T00:00:00Z'))).toBe(1);
    expect(await restarted.accept(alertsOn(['db-1', 'db-3']))).toEqual({
      accepted: 1,
      duplicates: 1,
    });
  });

  it('rejects the deliveries of a batch the store failed, and stores their retry', async () => {
    let failures = 1;
    const failing: AlertStore = {
      ...store,
      append: async (records) => {
        if (failures-- > 0) throw new Error('ENOSPC: no space left on device');
        return store.append(records);
      },
    };
    const intake = new AlertIntake(failing);
    const [first, duplicate] = await Promise.allSettled([
      intake.accept(alertsOn(['db-1'])),
      intake.accept(alertsOn(['db-1'])),
    ]);
    expect(first.status).toBe('rejected');
    expect(duplicate.status).toBe('rejected');
    expect(await intake.accept(alertsOn(['db-1']))).toEqual({ accepted: 1, duplicates: 0 });
    expect(await storedLines(temp.dir)).toHaveLength(1);
  });

  it('ends a line a crashed writer left unfinished before appending, and readers skip it', async () => {
    await new AlertIntake(store).accept(alertsOn(['db-1']));
    await store.close();
    const [name] = await readdir(path.join(temp.dir, 'alerts', 'intake'));
    await appendFile(path.join(temp.dir, 'alerts', 'intake', name!), '{"fingerprint":"ab');
    store = filesAlertStore(temp.dir);
    // Read before anything is appended: the torn last line is skipped, not read as an alert.
    expect(await store.recentKeys(new Date('2024-05-01T00:00:00Z'))).toHaveLength(1);
    expect(
      await store.alertDays(new Date('2024-05-01T00:00:00Z'), new Date('2024-05-02T00:00:00Z')),
    ).toEqual([{ day: '2024-05-01', firing: 1, resolved: 0 }]);
    await new AlertIntake(store).accept(alertsOn(['db-2']));
    const seen = await store.transact(100, (_state, alerts) => ({
      change: {},
      result: alerts.map((a) => a.labels.host),
    }));
    expect(seen).toEqual(['db-1', 'db-2']);
  });
});
