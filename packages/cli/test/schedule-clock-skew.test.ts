import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import type { Postgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './opsbook-world.js';
import { binPath, runCli, stackTrace, userEnv } from './run-cli.js';
import { scheduleSite } from './schedule-site.js';

/*
 * A scheduler whose machine's clock is minutes away from the database server's: graphile-worker
 * runs slots by the database's clock, the scheduler judges their lateness by its own, and slots
 * are lost. The machine's clock cannot be moved under a test (other tests share it), so the
 * database's is: its sessions see a clock_timestamp() three minutes ahead (a function of that
 * name in a schema searched before pg_catalog). Through the real binary, `schedule list`,
 * `schedule run` and `doctor` must warn, naming both clocks and what to do.
 */

const DATABASE = 'cli_schedule_skew';
let pg: Postgres;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  ({ pg, dir, env } = await scheduleSite(DATABASE, 'opsbook-schedule-skew-'));
});

afterAll(async () => {
  await pg?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sql = (text: string) => pg.psql(text, DATABASE);
const warning =
  /^warning: this machine's clock is 1[78]\d s behind the database's \(PostgreSQL clock_timestamp\(\)\): more than the 2 minutes a slot has to start: slots are refused as late \(SCHEDULE_SLOT_LATE\) or reported missed; synchronise both with NTP/m;

describe('a database whose clock is 3 minutes ahead of the scheduler machine', () => {
  it('schedule list and doctor say nothing of the clocks while they agree', async () => {
    const r = await runCli(['schedule', 'list', '--json'], { cwd: dir, env });
    expect(r.stderr).not.toMatch(/clock/);
    expect(Math.abs(JSON.parse(r.stdout).clockSkewMs)).toBeLessThan(5000);
    const doctor = await runCli(['doctor'], { cwd: dir, env });
    expect(doctor.stdout).not.toMatch(/clock/);
  });

  it('schedule list and schedule run warn of it, with what to do', async () => {
    await sql(`create schema skew;
      create function skew.clock_timestamp() returns timestamptz language sql
        as $$ select pg_catalog.clock_timestamp() + interval '3 minutes' $$;
      alter database ${DATABASE} set search_path = skew, pg_catalog, public`);
    const list = await runCli(['schedule', 'list', '--json'], { cwd: dir, env });
    expect(list.stderr).not.toMatch(stackTrace);
    expect(list.stderr).toMatch(warning);
    expect(JSON.parse(list.stdout).clockSkewMs).toBeGreaterThan(170_000);

    const child = spawn(process.execPath, [binPath, 'schedule', 'run'], {
      cwd: dir,
      env: userEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    try {
      await waitFor(
        () => stderr.includes('scheduler started') || child.exitCode !== null,
        'the scheduler to start',
      );
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
    expect(stderr).toMatch(warning);

    const doctor = await runCli(['doctor', '--json'], { cwd: dir, env });
    expect(doctor.stderr).not.toMatch(stackTrace);
    expect(JSON.parse(doctor.stdout).findings).toContainEqual({
      area: 'state',
      level: 'warn',
      detail: expect.stringMatching(/^this machine's clock is 1[78]\d s behind the database's/),
    });
  }, 60_000);

  it('schedule run signalled as soon as it warns (a service manager reading its first line) stops, not killed', async () => {
    // The warning is written before the scheduler starts: a SIGTERM then found no listener and
    // ended the process by the signal's default action (no exit status, nothing said).
    const child = spawn(process.execPath, [binPath, 'schedule', 'run'], {
      cwd: dir,
      env: userEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let signalled = false;
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (!signalled && warning.test(stderr)) {
        signalled = true;
        child.kill('SIGTERM');
      }
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) =>
      child.on('close', (c, s) => r([c, s])),
    );
    expect(signalled, stderr).toBe(true);
    expect({ code, signal }, stderr).toEqual({ code: 0, signal: null });
    expect(stderr).toMatch(/^SIGTERM: stopping/m);
    expect(stderr).not.toMatch(stackTrace);
  }, 60_000);
});
