import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { processesUnder, resumeAll, stopAll } from '@opsbook/testkit/sshd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { createWorld, exists, expectOk, firstCtrlC, type World, waitFor } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { slowRunbook } from './runbook-fixtures.js';

/*
 * The 15 s bound of a second Ctrl-C: the commands are killed (the host answers), but the run
 * cannot record its end because its PostgreSQL state store has frozen (its processes stopped
 * with SIGSTOP: the connection stays open and nothing answers, so the journal's write neither
 * ends nor fails). opsbook must not wait for it: past the bound it exits 130, saying the run
 * stays incomplete; once the server answers again the run is listed incomplete.
 */

let world: World;
let pg: Postgres;
const frozen: number[] = [];
beforeAll(async () => {
  pg = await startPostgres();
  world = await createWorld({ hostCount: 1, runbooks: { slow: slowRunbook } });
});
afterAll(async () => {
  thaw();
  await world?.remove();
  await pg?.dispose();
});

function thaw(): void {
  resumeAll(frozen.splice(0));
}

/** The server and every process under it, read from /proc at once. */
const serverProcesses = (): number[] => [pg.pid, ...processesUnder(pg.pid)];

describe('a second Ctrl-C while the state store does not answer', () => {
  it('exits 130 at its bound, saying the run stays incomplete, as the run cannot record its end', async () => {
    await pg.psql('create database bound');
    const env = {
      OPSBOOK_DATABASE_URL: `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/bound`,
    };
    await expectOk(world.opsbook(['db', 'migrate'], { env }), 'opsbook db migrate');
    const dir = path.join(world.markerDir, 'bound');
    await mkdir(dir);
    const file = await approvedFile(world, 'slow', 'bound.json', [world.people.alice], {
      params: { dir, seconds: '300' },
      target: 'h1',
      env,
    });
    const running = world.spawnOpsbook(['run', file], { env });
    await waitFor(() => exists(path.join(dir, 'h1.started')), 'h1 to start its step');
    await firstCtrlC(running);
    frozen.push(...stopAll(serverProcesses()));
    running.child.kill('SIGINT');
    const r = await running.done;
    thaw();
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain(
      'stopping now: the commands still running are killed and the run is recorded as interrupted',
    );
    // The bound, not the run's end, ended it: it says so, and that the run stays incomplete.
    expect(r.stderr).toContain('and this run stays incomplete, with no end in its journal');
    expect(r.stderr).toContain('opsbook runs list shows it');
    const [runId] = /run (\S+): slow/.exec(r.stderr)?.slice(1) ?? [];
    expect(runId, r.stderr).toBeDefined();
    // The step was killed (h1 answers): it never finished.
    expect(exists(path.join(dir, 'h1.first-done'))).toBe(false);
    const list = await world.opsbook(['runs', 'list', '--json'], { env });
    expect(list.code, list.stderr).toBe(0);
    const runs = (JSON.parse(list.stdout) as { runs: Array<{ runId: string; status: string }> })
      .runs;
    expect(runs.find((x) => x.runId === runId)?.status).toBe('incomplete');
    const verify = await world.opsbook(['journal', 'verify', runId!], { env });
    expect(verify.stdout).toContain(`${runId}  intact (incomplete`);
  }, 120_000);
});
