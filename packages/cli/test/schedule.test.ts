import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Postgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binPath, runCli, stackTrace, userEnv } from './run-cli.js';
import { SCHEDULE_CONFIG, scheduleSite } from './schedule-site.js';

/*
 * `opsbook schedule run|list` through the real binary on a real PostgreSQL: the store it needs,
 * a cron refused at load with its line, a schedule no scheduler ran, and a slot the scheduler
 * took and refused (no standing approval), reported as missed with exit 1. The run of a slot
 * under a standing approval is tested in @opsbook/runner (test/schedule.test.ts).
 */

let pg: Postgres;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  ({ pg, dir, env } = await scheduleSite('cli_schedules', 'opsbook-schedule-'));
}, 60_000);

afterAll(async () => {
  await pg?.dispose();
  await rm(dir, { recursive: true, force: true });
});

const sql = (text: string) => pg.psql(text, 'cli_schedules');

/** `opsbook schedule run` until `until` holds, then SIGTERM; its exit code and output. */
async function runScheduler(until: () => Promise<boolean>) {
  const child = spawn(process.execPath, [binPath, 'schedule', 'run'], {
    cwd: dir,
    env: userEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  for (let i = 0; i < 1200 && !(await until()); i++) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGTERM');
  return { code: await exited, stdout, stderr };
}

describe('opsbook schedule', () => {
  it('needs the PostgreSQL store, and says what to set', async () => {
    const r = await runCli(['schedule', 'list'], {
      cwd: dir,
      env: { ...env, OPSBOOK_DATABASE_URL: '' },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('OPSBOOK_DATABASE_URL');
    expect(r.stderr).not.toMatch(stackTrace);
  });

  it('refuses a bad cron when opsbook.yaml loads, at its line and column', async () => {
    const bad = await mkdtemp(path.join(dir, 'bad-'));
    await writeFile(
      path.join(bad, 'opsbook.yaml'),
      SCHEDULE_CONFIG.replace('* * * * *', '0 25 * * *'),
    );
    const r = await runCli(['schedule', 'list'], { cwd: bad, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/opsbook\.yaml:6:\d+: .*minute \(0-59\) hour \(0-23\)/);
    expect(r.stderr).not.toMatch(stackTrace);
  });

  it('reports a schedule no scheduler has run (exit 1)', async () => {
    const r = await runCli(['schedule', 'list', '--json'], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      hasMissed: true,
      schedules: [{ name: 'inventory', state: 'unscheduled', last: null, knownSince: null }],
    });
    expect(report.schedules[0].next).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/);
  });

  it('records a refused slot and reports it as missed; nothing runs', async () => {
    const first = await runScheduler(
      async () =>
        (
          await sql('select count(*) from graphile_worker._private_known_crontabs').catch(() => '')
        ).trim() === '1',
    );
    expect(first.code, first.stderr).toBe(0);
    // Down since the minute before this one: the next start backfills the current minute.
    await sql(`update graphile_worker._private_known_crontabs
      set known_since = now() - interval '1 hour',
          last_execution = date_trunc('minute', now()) - interval '1 minute'`);
    const second = await runScheduler(
      async () =>
        (
          await sql('select count(*) from opsbook_schedule_slots where outcome is not null')
        ).trim() !== '0',
    );
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/inventory: refused \(STANDING_APPROVAL_MISSING\)/);

    const list = await runCli(['schedule', 'list'], { cwd: dir, env });
    expect(list.code, list.stderr).toBe(1);
    expect(list.stdout).toMatch(/inventory +resource-inventory +\* \* \* \* \*/);
    expect(list.stdout).toMatch(/inventory missed \S+: refused \(STANDING_APPROVAL_MISSING\)/);
    const runs = await runCli(['runs', 'list', '--json'], { cwd: dir, env });
    expect(JSON.parse(runs.stdout)).toEqual({ runs: [] });
  }, 120_000);
});
