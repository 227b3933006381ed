import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stackTrace } from './run-cli.js';

/*
 * The store's administrator migrates the team's database and grants the runners' role: the
 * role may append to the journal and run records but never change or remove them.
 */

let pg: Postgres;
let root: string;
let databases = 0;

beforeAll(async () => {
  pg = await startPostgres();
  root = await mkdtemp(path.join(tmpdir(), 'opsbook-db-grant-'));
});
afterAll(async () => {
  await pg?.dispose();
  await rm(root, { recursive: true, force: true });
});

/** A migrated database, the admin's working copy, and a login role for runners. */
async function adminCopy(): Promise<{ dir: string; database: string; role: string }> {
  const database = `cli_grant_${++databases}`;
  const role = `cli_runner_${process.pid}_${databases}`;
  await pg.psql(`create database ${database}`);
  await pg.psql(`create role ${role} login password 'runner-pw'`);
  const dir = await mkdtemp(path.join(root, 'copy-'));
  await writeFile(
    path.join(dir, 'opsbook.yaml'),
    `apiVersion: opsbook/v1\nkind: Config\nstate:\n  kind: postgres\n  url: postgres://${pg.user}@${pg.host}:${pg.port}/${database}\n`,
  );
  const migrated = await runCli(['db', 'migrate'], { cwd: dir, env: adminEnv() });
  expect(migrated).toMatchObject({ code: 0 });
  return { dir, database, role };
}

const adminEnv = () => ({ OPSBOOK_DATABASE_URL: '', PGPASSWORD: pg.password });

const privilege = (database: string, role: string, table: string, what: string) =>
  pg.psql(`select has_table_privilege('${role}', '${table}', '${what}')`, database);

describe('opsbook db grant-runner', () => {
  it('grants a role append-only access to the audit trail and the job queue', async () => {
    const { dir, database, role } = await adminCopy();
    const result = await runCli(['db', 'grant-runner', role], { cwd: dir, env: adminEnv() });
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain(`granted ${role} what runners need on postgres://postgres@`);
    expect(result.stdout).not.toContain('(not found)');
    for (const table of ['opsbook_journal_lines', 'opsbook_runs']) {
      expect(await privilege(database, role, table, 'INSERT')).toBe('t\n');
      for (const what of ['UPDATE', 'DELETE', 'TRUNCATE'])
        expect(await privilege(database, role, table, what), `${table} ${what}`).toBe('f\n');
    }
    // The queue's schema was installed by the admin's session and given to the role.
    expect(await privilege(database, role, 'graphile_worker._private_jobs', 'UPDATE')).toBe('t\n');
    const json = await runCli(['db', 'grant-runner', role, '--json'], {
      cwd: dir,
      env: adminEnv(),
    });
    expect(JSON.parse(json.stdout)).toMatchObject({ kind: 'postgres', role, hasQueue: true });
  });

  it("refuses the tables' owner as a runner's role, saying what to do, without a stack trace", async () => {
    const { dir } = await adminCopy();
    const result = await runCli(['db', 'grant-runner', pg.user], { cwd: dir, env: adminEnv() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('STATE_DB_REFUSED');
    expect(result.stderr).toContain("cannot be a runner's role");
    expect(result.stderr).toContain('create role opsbook_runner login');
    expect(result.stderr).not.toMatch(stackTrace);
  });

  it('refuses a role that does not exist (exit 2), saying how to create it', async () => {
    const { dir } = await adminCopy();
    const result = await runCli(['db', 'grant-runner', 'nobody_here'], {
      cwd: dir,
      env: adminEnv(),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('there is no role nobody_here');
    expect(result.stderr).not.toMatch(stackTrace);
  });

  it("doctor warns a machine that connects as the tables' owner, and not one that uses the runner role", async () => {
    const { dir, database, role } = await adminCopy();
    await runCli(['db', 'grant-runner', role], { cwd: dir, env: adminEnv() });
    const stateOf = async (env: Record<string, string>) => {
      const r = await runCli(['doctor', '--json'], { cwd: dir, env });
      expect(r.stderr).not.toMatch(stackTrace);
      return (
        JSON.parse(r.stdout).findings as { area: string; level: string; detail: string }[]
      ).filter((f) => f.area === 'state');
    };
    const asAdmin = await stateOf(adminEnv());
    expect(asAdmin).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        detail: expect.stringContaining(`as ${pg.user}, a superuser: it could switch`),
      }),
    );
    const runnerUrl = `postgres://${role}:runner-pw@${pg.host}:${pg.port}/${database}`;
    const asRunner = await stateOf({ OPSBOOK_DATABASE_URL: runnerUrl, PGPASSWORD: '' });
    expect(asRunner.map((f) => f.level)).toEqual(['ok']);
  });
});
