import { rm } from 'node:fs/promises';
import type { Postgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCli, spawnCli, waitFor } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { scheduleSite } from './schedule-site.js';

/*
 * `opsbook schedule run` while its PostgreSQL restarts, through the real binary: graphile-worker
 * reconnects on its own, and what it says meanwhile is a note on stderr. stdout holds one line
 * per slot (--json: one document per slot event), for whatever reads it, and must not carry the
 * job queue's connection errors.
 */

let pg: Postgres;
let dir: string;
let env: NodeJS.ProcessEnv;
let scheduler: RunningCli | undefined;

beforeAll(async () => {
  ({ pg, dir, env } = await scheduleSite('cli_schedule_db_restart', 'opsbook-schedule-db-'));
});

afterAll(async () => {
  if (scheduler && scheduler.child.exitCode === null) scheduler.child.kill('SIGKILL');
  await pg?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('opsbook schedule run while PostgreSQL restarts', () => {
  it("says the job queue's connection errors on stderr, keeps stdout for slots, and keeps running until stopped", async () => {
    const running = spawnCli(['schedule', 'run', '--json'], dir, env);
    scheduler = running;
    await waitFor(() => running.stderr().includes('scheduler started'), 'the scheduler to start');
    await pg.restart({ downMs: 2000 });
    const said = /^job queue error: .*\S/m;
    await waitFor(
      () => said.test(running.stderr()) || /"type":\s*"queue"/.test(running.stdout()),
      'the scheduler to say that it lost its database',
    );
    expect(running.child.exitCode).toBe(null);
    running.child.kill('SIGTERM');
    const r = await running.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(stackTrace);
    // stdout holds slot events only (none came in these seconds), not the queue's.
    expect(r.stdout).not.toMatch(/"type":\s*"queue"/);
    expect(r.stderr).toMatch(said);
  });
});
