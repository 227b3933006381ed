import { rm } from 'node:fs/promises';
import type { Postgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stackTrace } from './run-cli.js';
import { scheduleSite } from './schedule-site.js';

/*
 * `opsbook schedule list` against rows written straight into the team's database (anyone with
 * its credentials can): a schedule recorded as running ok whose standing approval does not
 * verify on this machine is marked, and so is its last slot naming a run the state store does
 * not have; the command exits 1, as a monitoring check needs.
 */

let pg: Postgres;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  ({ pg, dir, env } = await scheduleSite('cli_schedule_approval', 'opsbook-schedule-approval-'));
});

afterAll(async () => {
  await pg?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sql = (text: string) => pg.psql(text, 'cli_schedule_approval');

describe('opsbook schedule list', () => {
  it('marks a schedule whose standing approval does not verify, though its rows say it ran ok (exit 1)', async () => {
    // A database writer makes the schedule look registered just now, its slot run ok.
    await sql(`insert into opsbook_schedules (name, runbook, cron, known_since)
      values ('inventory', 'resource-inventory', '* * * * *', now())`);
    await sql(`insert into opsbook_schedule_slots
      (schedule, slot, backfilled, started_at, ended_at, outcome, run_id, run_status)
      values ('inventory', date_trunc('minute', now()), false, now(), now(), 'ran',
              '20261207-000000-forged', 'ok')`);
    const r = await runCli(['schedule', 'list'], { cwd: dir, env });
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.stdout).toMatch(
      /inventory +resource-inventory +\* \* \* \* \* +refused \(STANDING_APPROVAL_MISSING\)/,
    );
    expect(r.stdout).toMatch(
      /^inventory: its standing approval does not verify \(STANDING_APPROVAL_MISSING\): .*resource-inventory.*; every slot is refused until it does/m,
    );
    // The run the row names is not in the state store: its LAST is not taken for ok.
    expect(r.stdout).toMatch(/20261207-000000-forged UNVERIFIED \(row says ok\)/);
    expect(r.stdout).toMatch(
      /^inventory: the run of its last slot \S+ is unverified: the state store has no run 20261207-000000-forged with its journal/m,
    );
    expect(r.code, r.stdout).toBe(1);
    const json = await runCli(['schedule', 'list', '--json'], { cwd: dir, env });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).schedules[0]).toMatchObject({
      name: 'inventory',
      last: {
        runId: '20261207-000000-forged',
        status: 'ok',
        unverified: expect.stringContaining('the state store has no run 20261207-000000-forged'),
      },
      approval: { ok: false, code: 'STANDING_APPROVAL_MISSING' },
    });
  }, 60_000);
});
