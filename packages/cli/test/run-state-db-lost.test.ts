import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile, readEnvelope, statementOf } from './approval-craft.js';
import { createWorld, exists, expectOk, type World, waitFor } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { slowRunbook } from './runbook-fixtures.js';

/*
 * The PostgreSQL state store stopped mid-step for longer than the runner's retries, through the
 * real binary, real sshd hosts and a real server: the run stops like Ctrl-C (no step starts
 * unjournaled), exits 4 (STATE_DB_UNREACHABLE), and its message says how far the run got and
 * what was recorded, as for a full disk; once the server is back the journal verifies as far
 * as it was written.
 */

let world: World;
let pg: Postgres;
beforeAll(async () => {
  pg = await startPostgres();
  world = await createWorld({ hostCount: 2, runbooks: { slow: slowRunbook } });
});
afterAll(async () => {
  await world?.remove();
  await pg?.dispose();
});

describe('a run whose PostgreSQL state store goes away mid-step', () => {
  it('stops, exits 4 and says how far the run got and what was recorded; the journal verifies once the server is back', async () => {
    await pg.psql('create database lost');
    const env = {
      OPSBOOK_DATABASE_URL: `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/lost`,
    };
    await expectOk(world.opsbook(['db', 'migrate'], { env }), 'opsbook db migrate');
    const dir = path.join(world.markerDir, 'db-lost');
    await mkdir(dir);
    const file = await approvedFile(world, 'slow', 'db-lost.json', [world.people.alice], {
      params: { dir, seconds: '3' },
      target: 'h1:h2',
      env,
    });
    const { ticket } = statementOf(await readEnvelope(file));
    const running = world.spawnOpsbook(['run', file], { env });
    await waitFor(
      () => exists(path.join(dir, 'h1.started')) && exists(path.join(dir, 'h2.started')),
      'both hosts to start their first step',
    );
    // Down for longer than the runner retries its journal's and its ledger's writes (30 s each).
    const restarting = pg.restart({ downMs: 100_000 });
    const r = await running.done;
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.stderr).not.toContain('unexpected error');
    const runId = /^run (\S+):/m.exec(r.stderr)?.[1];
    expect(runId).toBeDefined();
    expect(r.stderr).toMatch(
      new RegExp(
        `^error \\(STATE_DB_UNREACHABLE\\): cannot reach the PostgreSQL state store at ${pg.host}:${pg.port}/lost \\(\\w+\\): check that the server runs .*\\. The run stopped there: no step started after it, and the store \\S+ could not record its end either; opsbook journal verify ${runId} shows the \\d+ event\\(s\\) written; its ticket ${ticket} was not told how the run ended \\(.*\\): once the store takes writes again, opsbook ticket report ${ticket} reports it or says what to do\\.$`,
        'm',
      ),
    );
    expect(r.code).toBe(4);
    // The commands running then finished; the step after them never started.
    expect((await readdir(dir)).sort()).toEqual([
      'h1.first-done',
      'h1.started',
      'h2.first-done',
      'h2.started',
    ]);
    await restarting;
    const verify = await world.opsbook(['journal', 'verify', runId!], { env });
    expect(verify.stdout).toContain(`✓ ${runId}  intact (incomplete`);
    expect(verify.code).toBe(0);
    const list = await world.opsbook(['runs', 'list', '--json'], { env });
    const runs = (JSON.parse(list.stdout) as { runs: Array<{ runId: string; status: string }> })
      .runs;
    expect(runs.find((x) => x.runId === runId)?.status).toBe('incomplete');
  }, 400_000);
});
