import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Alertmanager, startAlertmanager } from '@opsbook/testkit/alertmanager';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe, waitFor } from './alerts-server.js';
import { runCli } from './run-cli.js';

/*
 * Two real Alertmanagers (the Debian package), each posting to its own `opsbook alerts serve`,
 * both receivers on one PostgreSQL state store: the team's HA pair. An alert that resolves
 * through one and fires again (the same startsAt: Prometheus restarted) through the other.
 */

const RULES = `apiVersion: opsbook/v1
kind: AlertRules
version: 1
severities: [critical, warning, info]
correlate:
  - name: cluster
    by: { labels: [cluster] }
`;

let pg: Postgres;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.dispose();
});

/** Posts of `serve` its --verbose log says it took. */
const postsTo = (serve: ServeProcess) => serve.stderr().match(/^accepted /gm)?.length ?? 0;

let databases = 0;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** `alerts serve` on `port` (0: any) in `dir`, stopped after the test if still running. */
async function serveIn(dir: string, env: NodeJS.ProcessEnv, port = 0): Promise<ServeProcess> {
  const serve = await startServe(['--listen', `127.0.0.1:${port}`, '--verbose'], {
    cwd: dir,
    env,
  });
  cleanups.push(async () => {
    if (serve.child.exitCode === null && serve.child.signalCode === null)
      await serve.stop('SIGKILL');
  });
  return serve;
}

/**
 * A migrated database, and two receivers on it in one folder, each with its Alertmanager; one
 * alert (NodeDown on db-1) to send to either, and what the store holds of it.
 */
async function startPair() {
  const temp = await makeTempDir('opsbook-alerts-ha-');
  cleanups.push(temp.remove);
  const database = `opsbook_ha_${process.pid}_${++databases}`;
  await pg.psql(`create database ${database}`);
  const env = { PGPASSWORD: pg.password };
  await writeFile(
    path.join(temp.dir, 'opsbook.yaml'),
    `apiVersion: opsbook/v1\nkind: Config\nstateDir: .opsbook\nstate:\n  kind: postgres\n  url: postgres://${pg.user}@${pg.host}:${pg.port}/${database}\n`,
  );
  await writeFile(path.join(temp.dir, 'alerts.yaml'), RULES);
  const migrated = await runCli(['db', 'migrate'], { cwd: temp.dir, env });
  expect(migrated.code, migrated.stderr).toBe(0);

  const serves: ServeProcess[] = [];
  const managers: Alertmanager[] = [];
  for (let i = 0; i < 2; i++) {
    const serve = await serveIn(temp.dir, env);
    serves.push(serve);
    const alertmanager = await startAlertmanager({ webhook: { url: `${serve.url}alerts` } });
    cleanups.push(() => alertmanager.dispose());
    managers.push(alertmanager);
  }
  const log = () =>
    serves.map((s, i) => `serve ${i + 1}:\n${s.stderr()}`).join('\n') +
    managers.map((m, i) => `\nAlertmanager ${i + 1}:\n${m.log().slice(-1500)}`).join('');

  const startsAt = new Date(Date.now() - 60_000).toISOString();
  const send = async (to: Alertmanager, endsAt: Date) =>
    to.post([
      {
        labels: { alertname: 'NodeDown', cluster: 'eu-1', severity: 'critical', host: 'db-1' },
        startsAt,
        endsAt: endsAt.toISOString(),
      },
    ]);
  const column = async (sql: string) =>
    (await pg.psql(`select ${sql} from opsbook_alerts order by seq`, database))
      .split('\n')
      .filter(Boolean);
  const rows = () => column("status || ' ' || round");
  const shown = async () =>
    (await runCli(['alerts', 'show', 'INC-1'], { cwd: temp.dir, env })).stdout;
  return {
    dir: temp.dir,
    env,
    serves: serves as [ServeProcess, ServeProcess],
    managers: managers as [Alertmanager, Alertmanager],
    log,
    send,
    column,
    rows,
    shown,
  };
}

const FIRING_ROW = /NodeDown\s+db-1\s+critical\s+firing/;

describe('opsbook alerts serve: two receivers on one PostgreSQL store behind an Alertmanager pair', () => {
  it('shows an alert firing again through the receiver that did not see its resolution as firing', async () => {
    const pair = await startPair();
    const [first, second] = pair.serves;
    const [am1, am2] = pair.managers;
    const { log, send, column, rows } = pair;

    // The first Alertmanager posts its firing and its resolution (its endsAt passes); the
    // second hears nothing of it (cut off from Prometheus, or not yet started).
    await send(am1, new Date(Date.now() + 3_000));
    await waitFor('its firing and its resolution posted', async () => postsTo(first) >= 2, log);
    expect(await rows()).toEqual(['firing 0', 'resolved 0']);
    // Prometheus restarts with the alert's ActiveAt kept, and reaches the second one only: its
    // receiver never saw the alert (a receiver's memory said the first firing, a repeat).
    await send(am2, new Date(Date.now() + 3_600_000));
    await waitFor('the second receiver taking it', async () => postsTo(second) >= 1, log);
    expect(await rows()).toEqual(['firing 0', 'resolved 0', 'firing 1']);

    let shown = '';
    await waitFor(
      'the incident showing it firing',
      async () => {
        shown = await pair.shown();
        return FIRING_ROW.test(shown);
      },
      () => `alerts show INC-1:\n${shown}\n${log()}`,
    );
    expect(shown).toMatch(/alerts \(1, 1 firing\)/);
    // Each stored alert names the Alertmanager that sent it (its externalURL).
    expect(await column("alert->>'sender'")).toEqual([am1.url, am1.url, am2.url]);
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(await second.stop('SIGTERM')).toBe(0);
  }, 120_000);

  it('keeps an alert that fired again firing when the other Alertmanager posts the resolution before it late', async () => {
    const pair = await startPair();
    const [first, second] = pair.serves;
    const [am1, am2] = pair.managers;
    const { log, send, rows } = pair;

    // Prometheus sends it to both; both post it firing (the second post a duplicate).
    const endsAt = new Date(Date.now() + 6_000);
    await Promise.all([send(am1, endsAt), send(am2, endsAt)]);
    await waitFor(
      'both posting it firing',
      async () => postsTo(first) >= 1 && postsTo(second) >= 1,
      log,
    );
    // The second receiver goes away: its Alertmanager keeps the resolution, trying again.
    const port = Number(new URL(second.url).port);
    expect(await second.stop('SIGTERM')).toBe(0);
    await waitFor('the first posting its resolution', async () => postsTo(first) >= 2, log);
    expect(await rows()).toEqual(['firing 0', 'resolved 0']);
    // It fires again with the same startsAt (Prometheus restarted), heard by the first one.
    await send(am1, new Date(Date.now() + 3_600_000));
    await waitFor('the first posting it firing again', async () => postsTo(first) >= 3, log);
    expect(await rows()).toEqual(['firing 0', 'resolved 0', 'firing 1']);

    // The second receiver is back: its Alertmanager posts the resolution it kept, late.
    const back = await serveIn(pair.dir, pair.env, port);
    const logs = () => `${log()}\nserve 2 again:\n${back.stderr()}`;
    await waitFor('the late resolution posted', async () => postsTo(back) >= 1, logs);
    expect(back.stderr()).toMatch(/accepted 1 alert\(s\) from .*: 0 stored, 1 already stored/);
    expect(await rows()).toEqual(['firing 0', 'resolved 0', 'firing 1']);
    // Alertmanager writes times as Go does, trailing zeros of the fraction dropped (.72Z for
    // .720Z): the instants are compared, not their text.
    const ends = await pair.column("coalesce(alert->>'endsAt', '-')");
    expect(ends.map((v) => (v === '-' ? v : new Date(v).toISOString()))).toEqual([
      '-',
      endsAt.toISOString(),
      '-',
    ]);
    let shown = '';
    await waitFor(
      'the incident showing it firing',
      async () => {
        shown = await pair.shown();
        return FIRING_ROW.test(shown);
      },
      () => `alerts show INC-1:\n${shown}\n${logs()}`,
    );
    expect(shown).toMatch(/alerts \(1, 1 firing\)/);
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(await back.stop('SIGTERM')).toBe(0);
  }, 120_000);
});
