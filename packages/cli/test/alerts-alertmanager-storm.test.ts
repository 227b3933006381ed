import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Alertmanager, startAlertmanager } from '@opsbook/testkit/alertmanager';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterEach, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe } from './alerts-server.js';

/*
 * A storm as a real Alertmanager (the Debian package) delivers it: every alert of one group in
 * one post (`max_alerts: 0`, as docs/alerts.md configures it). Alertmanager sends a 4xx answer's
 * notification never again, so an answer other than 200 or 5xx loses the whole group.
 */

const CONFIG = 'apiVersion: opsbook/v1\nkind: Config\nstateDir: .opsbook\n';
const STORM = 10_500;
const WAIT_MS = 90_000;

async function storedCount(dir: string): Promise<number> {
  const intake = path.join(dir, '.opsbook', 'alerts', 'intake');
  let count = 0;
  for (const name of await readdir(intake).catch(() => [] as string[]))
    for (const line of (await readFile(path.join(intake, name), 'utf8')).split('\n'))
      if (line) count++;
  return count;
}

describe('opsbook alerts serve behind a real Alertmanager, in a storm', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('stores a group of more than 10,000 alerts that Alertmanager posts at once, rather than refusing it (lost: Alertmanager never resends a 4xx)', async () => {
    const temp = await makeTempDir('opsbook-alerts-storm-');
    cleanups.push(temp.remove);
    await writeFile(path.join(temp.dir, 'opsbook.yaml'), CONFIG);
    const serve: ServeProcess = await startServe(['--listen', '127.0.0.1:0'], { cwd: temp.dir });
    cleanups.push(async () => {
      if (serve.child.exitCode === null && serve.child.signalCode === null)
        await serve.stop('SIGKILL');
    });
    const alertmanager: Alertmanager = await startAlertmanager({
      webhook: { url: `${serve.url}alerts` },
      groupBy: ['alertname', 'cluster'],
    });
    cleanups.push(() => alertmanager.dispose());

    // What Prometheus sends when a switch fails under a large fleet: one alert per host.
    const startsAt = new Date().toISOString();
    const endsAt = new Date(Date.now() + 3_600_000).toISOString();
    const alerts = Array.from({ length: STORM }, (_, i) => ({
      labels: { alertname: 'NodeDown', cluster: 'eu-1', severity: 'critical', host: `h-${i}` },
      annotations: { summary: `h-${i} unreachable` },
      startsAt,
      endsAt,
      generatorURL: 'http://prometheus.invalid/graph?g0.expr=up%3D%3D0',
    }));
    await alertmanager.post(alerts);

    const deadline = Date.now() + WAIT_MS;
    let stored = 0;
    while (Date.now() < deadline) {
      stored = await storedCount(temp.dir);
      if (stored >= STORM || /status=4\d\d|unexpected status code 4/.test(alertmanager.log()))
        break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(
      stored,
      `alerts stored; serve's log:\n${serve.stderr().slice(0, 2000)}\nAlertmanager's log:\n${alertmanager.log().slice(-3000)}`,
    ).toBe(STORM);
    expect(serve.stderr()).not.toMatch(/refused 4\d\d/);
  }, 180_000);
});
