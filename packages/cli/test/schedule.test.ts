import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Postgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binPath, repoRoot, runCli, stackTrace, userEnv } from './run-cli.js';
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
async function runScheduler(
  until: (stderr: string) => Promise<boolean>,
  cwd = dir,
  commandEnv = env,
) {
  const child = spawn(process.execPath, [binPath, 'schedule', 'run'], {
    cwd,
    env: userEnv(commandEnv),
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
  for (let i = 0; i < 1200 && !(await until(stderr)); i++)
    await new Promise((r) => setTimeout(r, 50));
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

  it('warns of a schedule naming no runbook (a typo) or a runbook that is not routine, at its line in opsbook.yaml', async () => {
    const typo = await mkdtemp(path.join(dir, 'typo-'));
    await writeFile(
      path.join(typo, 'opsbook.yaml'),
      `runbooks: ${JSON.stringify(path.join(repoRoot, 'runbooks'))}
${SCHEDULE_CONFIG}  daily: {runbook: daily-inspectoin, cron: "0 6 * * *"}
  cleanup: {runbook: disk-cleanup, cron: "0 7 * * *"}
`,
    );
    // A database of its own: the scheduler below registers these schedules.
    await pg.psql('create database cli_schedules_typo');
    const typoEnv = {
      ...env,
      OPSBOOK_DATABASE_URL: `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/cli_schedules_typo`,
    };
    const migrated = await runCli(['db', 'migrate'], { cwd: typo, env: typoEnv });
    expect(migrated.code, migrated.stderr).toBe(0);
    const list = await runCli(['schedule', 'list'], { cwd: typo, env: typoEnv });
    expect(list.code, list.stderr).toBe(1);
    const warnings = list.stderr.split('\n').filter((l) => l.startsWith('warning: '));
    expect(warnings).toEqual([
      "warning: opsbook.yaml:8:20: schedules.daily.runbook: there is no runbook 'daily-inspectoin' in " +
        `${path.join(repoRoot, 'runbooks')} (did you mean 'daily-inspection'?): every slot of daily is refused until it names a routine runbook`,
      'warning: opsbook.yaml:9:22: schedules.cleanup.runbook: disk-cleanup is an incident runbook, and a schedule runs only routine ones, under their standing approval: every slot of cleanup is refused',
    ]);
    expect(list.stderr).not.toMatch(stackTrace);
    const run = await runScheduler(
      async (said) => said.includes('scheduler started'),
      typo,
      typoEnv,
    );
    expect(run.stderr).toContain(warnings[0]);
    expect(run.stderr).toContain(warnings[1]);
    expect(run.stderr).not.toMatch(stackTrace);
    // Named right, a routine runbook of the library: no warning.
    await writeFile(
      path.join(typo, 'opsbook.yaml'),
      `runbooks: ${JSON.stringify(path.join(repoRoot, 'runbooks'))}\n${SCHEDULE_CONFIG}`,
    );
    const right = await runCli(['schedule', 'list'], { cwd: typo, env: typoEnv });
    expect(right.stderr).not.toContain('warning');
  }, 60_000);

  it('says an opsbook.yaml without schedules has none (exit 2) before asking for an executor key a newcomer has not made yet', async () => {
    const none = await mkdtemp(path.join(dir, 'none-'));
    await writeFile(
      path.join(none, 'opsbook.yaml'),
      SCHEDULE_CONFIG.slice(0, SCHEDULE_CONFIG.indexOf('schedules:')),
    );
    // A HOME with no key, no agent: as on a fresh runner machine.
    const r = await runCli(['schedule', 'run'], {
      cwd: none,
      env: { ...env, HOME: none },
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('opsbook.yaml has no schedules: add e.g. schedules:');
    expect(r.stderr).not.toContain('EXECUTOR_UNPROVEN');
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
