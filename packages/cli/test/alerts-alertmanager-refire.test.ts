import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Alertmanager, startAlertmanager } from '@opsbook/testkit/alertmanager';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterEach, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe, waitFor } from './alerts-server.js';
import { runCli } from './run-cli.js';

/*
 * An alert that resolves and fires again with the same startsAt, as a real Alertmanager (the
 * Debian package) sends it: Prometheus stops sending it for longer than its endsAt (a restart,
 * a network cut), Alertmanager resolves it, then Prometheus sends it again with the ActiveAt it
 * kept (ALERTS_FOR_STATE), and Alertmanager notifies it firing with that same startsAt.
 */

const CONFIG = 'apiVersion: opsbook/v1\nkind: Config\nstateDir: .opsbook\n';
const RULES = `apiVersion: opsbook/v1
kind: AlertRules
version: 1
severities: [critical, warning, info]
correlate:
  - name: cluster
    by: { labels: [cluster] }
`;

async function intakeStatuses(dir: string): Promise<string[]> {
  const intake = path.join(dir, '.opsbook', 'alerts', 'intake');
  const statuses: string[] = [];
  for (const name of (await readdir(intake).catch(() => [] as string[])).sort())
    for (const line of (await readFile(path.join(intake, name), 'utf8')).split('\n'))
      if (line) statuses.push((JSON.parse(line) as { status: string }).status);
  return statuses;
}

describe('opsbook alerts serve behind a real Alertmanager: an alert that fires again', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('shows an alert firing again with its first startsAt (Prometheus restarted) as firing, not as the resolution before it', async () => {
    const temp = await makeTempDir('opsbook-alerts-refire-');
    cleanups.push(temp.remove);
    await writeFile(path.join(temp.dir, 'opsbook.yaml'), CONFIG);
    await writeFile(path.join(temp.dir, 'alerts.yaml'), RULES);
    const serve: ServeProcess = await startServe(['--listen', '127.0.0.1:0'], { cwd: temp.dir });
    cleanups.push(async () => {
      if (serve.child.exitCode === null && serve.child.signalCode === null)
        await serve.stop('SIGKILL');
    });
    const alertmanager: Alertmanager = await startAlertmanager({
      webhook: { url: `${serve.url}alerts` },
    });
    cleanups.push(() => alertmanager.dispose());
    const log = () =>
      `serve:\n${serve.stderr()}\nAlertmanager:\n${alertmanager.log().slice(-2000)}`;

    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const send = async (endsAt: Date) =>
      alertmanager.post([
        {
          labels: { alertname: 'NodeDown', cluster: 'eu-1', severity: 'critical', host: 'db-1' },
          startsAt,
          endsAt: endsAt.toISOString(),
        },
      ]);
    const firingInAlertmanager = async () =>
      (await alertmanager.alerts()).some((a) => a.status.state === 'active');

    await send(new Date(Date.now() + 3_000));
    await waitFor(
      'the first firing and its resolution stored',
      async () => {
        const s = await intakeStatuses(temp.dir);
        return s.includes('firing') && s.includes('resolved');
      },
      log,
    );
    await send(new Date(Date.now() + 3_600_000));
    await waitFor('Alertmanager holding it firing again', firingInAlertmanager, log);
    await waitFor(
      'the firing again stored',
      async () => {
        return (await intakeStatuses(temp.dir)).length >= 3;
      },
      log,
    );
    expect(await intakeStatuses(temp.dir)).toEqual(['firing', 'resolved', 'firing']);

    const firingRow = /NodeDown\s+db-1\s+critical\s+firing/;
    let shown = '';
    await waitFor(
      'the incident showing it firing',
      async () => {
        shown = (await runCli(['alerts', 'show', 'INC-1'], { cwd: temp.dir })).stdout;
        return firingRow.test(shown);
      },
      () => `alerts show INC-1:\n${shown}\n${log()}`,
    );
    expect(shown).toMatch(/alerts \(1, 1 firing\)/);
    expect(await serve.stop('SIGTERM')).toBe(0);
  }, 120_000);
});
