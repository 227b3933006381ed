import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { STATE_SCHEMA_VERSION } from '@opsbook/state';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stackTrace } from './run-cli.js';

let pg: Postgres;
let root: string;
let databases = 0;

beforeAll(async () => {
  pg = await startPostgres();
  root = await mkdtemp(path.join(tmpdir(), 'opsbook-db-migrate-'));
});
afterAll(async () => {
  await pg?.dispose();
  await rm(root, { recursive: true, force: true });
});

/** A working copy whose opsbook.yaml names a new database (the password stays out of it). */
async function workingCopy(): Promise<{ dir: string; database: string }> {
  const database = `cli_db_${++databases}`;
  await pg.psql(`create database ${database}`);
  const dir = await mkdtemp(path.join(root, 'copy-'));
  await writeFile(
    path.join(dir, 'opsbook.yaml'),
    `apiVersion: opsbook/v1\nkind: Config\nstate:\n  kind: postgres\n  url: postgres://${pg.user}@${pg.host}:${pg.port}/${database}\n`,
  );
  return { dir, database };
}

const clean = { OPSBOOK_DATABASE_URL: '', PGPASSWORD: '' };

describe('opsbook db migrate', () => {
  it('applies the migrations once, then says there is nothing to do', async () => {
    const { dir, database } = await workingCopy();
    const env = { ...clean, PGPASSWORD: pg.password };
    const first = await runCli(['db', 'migrate'], { cwd: dir, env });
    expect(first).toMatchObject({ code: 0 });
    expect(first.stderr).toMatch(/^applying 1 runs and journals\napplying 2 schedules\n/);
    expect(first.stdout).toMatch(
      new RegExp(
        `^applied ${STATE_SCHEMA_VERSION} migration\\(s\\): 1 runs and journals, 2 schedules.*; the store is at version ${STATE_SCHEMA_VERSION}\n$`,
      ),
    );
    const second = await runCli(['db', 'migrate'], { cwd: dir, env });
    expect(second).toMatchObject({
      code: 0,
      stdout: `already at version ${STATE_SCHEMA_VERSION}: nothing to do\n`,
    });
    const json = await runCli(['db', 'migrate', '--json'], { cwd: dir, env });
    expect(JSON.parse(json.stdout)).toEqual({
      kind: 'postgres',
      applied: [],
      version: STATE_SCHEMA_VERSION,
      location: `postgres://postgres@127.0.0.1:${pg.port}/${database}`,
    });
    expect(await pg.psql('select max(version) from opsbook_schema_migrations', database)).toBe(
      `${STATE_SCHEMA_VERSION}\n`,
    );
  });

  it('migrates the database OPSBOOK_DATABASE_URL names, over opsbook.yaml', async () => {
    const { database } = await workingCopy();
    const dir = await mkdtemp(path.join(root, 'files-'));
    const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${database}`;
    const result = await runCli(['db', 'migrate'], {
      cwd: dir,
      env: { ...clean, OPSBOOK_DATABASE_URL: url },
    });
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toMatch(/^applied \d+ migration\(s\): 1 runs and journals, 2 schedules/);
  });

  it("says no url names the store when opsbook.yaml's state has none and OPSBOOK_DATABASE_URL was not exported, and that url works once exported", async () => {
    const database = `cli_db_${++databases}`;
    await pg.psql(`create database ${database}`);
    const dir = await mkdtemp(path.join(root, 'unnamed-'));
    await writeFile(
      path.join(dir, 'opsbook.yaml'),
      'apiVersion: opsbook/v1\nkind: Config\nstate: {kind: postgres}\n',
    );
    const unnamed = { ...clean, PGHOST: '', PGPORT: '', PGDATABASE: '', PGUSER: '' };
    const r = await runCli(['db', 'migrate'], { cwd: dir, env: unnamed });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/^error \(STATE_DB_UNREACHABLE\): /);
    expect(r.stderr).toContain(
      "No url names the store: opsbook.yaml has state: {kind: postgres} without a url, and OPSBOOK_DATABASE_URL (or PGHOST, PGPORT, PGDATABASE) is not set, so libpq's defaults were tried: export OPSBOOK_DATABASE_URL=postgres://user@host:5432/database",
    );
    expect(r.stderr).not.toMatch(stackTrace);
    const named = await runCli(['db', 'migrate'], {
      cwd: dir,
      env: {
        ...unnamed,
        PGPASSWORD: pg.password,
        OPSBOOK_DATABASE_URL: `postgres://${pg.user}@${pg.host}:${pg.port}/${database}`,
      },
    });
    expect(named.code, named.stderr).toBe(0);
    expect(named.stderr).not.toContain('No url names the store');
  });

  it('says a files store has nothing to migrate', async () => {
    const dir = await mkdtemp(path.join(root, 'files-'));
    const result = await runCli(['db', 'migrate'], { cwd: dir, env: clean });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^the state store is the files in .*: there is nothing to migrate/,
    );
  });

  it('fails with STATE_DB_UNREACHABLE on a wrong password, without showing it', async () => {
    const { dir } = await workingCopy();
    const secret = 'wrong-pass-w0rd';
    const result = await runCli(['db', 'migrate'], {
      cwd: dir,
      env: { ...clean, PGPASSWORD: secret },
    });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(
      /^error \(STATE_DB_UNREACHABLE\): the PostgreSQL state store at 127\.0\.0\.1:\d+\/cli_db_\d+ refused the login of user postgres/,
    );
    expect(result.stderr).not.toMatch(stackTrace);
    expect(result.stdout + result.stderr).not.toContain(secret);
    const json = await runCli(['db', 'migrate', '--json'], {
      cwd: dir,
      env: { ...clean, PGPASSWORD: secret },
    });
    expect(JSON.parse(json.stdout).error).toMatchObject({
      code: 'STATE_DB_UNREACHABLE',
      kind: 'unreachable',
    });
  });

  it('says no password was given when the server asks for one and none is set', async () => {
    const { dir } = await workingCopy();
    const home = await mkdtemp(path.join(root, 'home-'));
    const result = await runCli(['db', 'migrate'], {
      cwd: dir,
      env: { ...clean, PGPASSWORD: '', PGPASSFILE: '', HOME: home },
    });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(
      /^error \(STATE_DB_UNREACHABLE\): the PostgreSQL state store at 127\.0\.0\.1:\d+\/cli_db_\d+ asks user postgres for a password, and none was given: set PGPASSWORD, add a line host:port:database:user:password to ~\/\.pgpass \(mode 0600\), or put it in the url of OPSBOOK_DATABASE_URL\n$/,
    );
    expect(result.stderr).not.toContain('SASL');
    expect(result.stderr).not.toMatch(stackTrace);
  });

  it('takes the password from ~/.pgpass, as the docs say, without a warning from the driver', async () => {
    const { dir, database } = await workingCopy();
    const home = await mkdtemp(path.join(root, 'home-'));
    await writeFile(
      path.join(home, '.pgpass'),
      `${pg.host}:${pg.port}:${database}:${pg.user}:${pg.password}\n`,
      { mode: 0o600 },
    );
    const result = await runCli(['db', 'migrate'], {
      cwd: dir,
      env: { ...clean, PGPASSWORD: undefined, PGPASSFILE: undefined, HOME: home },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^applied \d+ migration\(s\)/);
    expect(result.stderr).not.toContain('Warning');
    expect(result.stderr).not.toContain('pgpass');
  });

  it('waits at most 30 s for its lock, then fails with STATE_DB_LOCKED naming the session that keeps it', async () => {
    const { dir, database } = await workingCopy();
    // A psql left open holding migrate's lock, as an operator might.
    const holder = spawn('psql', ['-X', '-q', '-d', database], {
      env: { ...process.env, ...pg.env(database), PGAPPNAME: 'held-by-hand' },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    try {
      holder.stdin.write('select pg_advisory_lock(31367363289902955);\n');
      let pid = '';
      for (let i = 0; i < 200 && !pid; i++) {
        pid = (
          await pg.psql(
            `select pid from pg_locks where locktype = 'advisory' and granted and classid = 7303283 and objid = 1651470187`,
            database,
          )
        ).trim();
        if (!pid) await new Promise((r) => setTimeout(r, 50));
      }
      expect(pid).not.toBe('');
      const r = await runCli(['db', 'migrate'], {
        cwd: dir,
        env: { ...clean, PGPASSWORD: pg.password },
      });
      expect(r.code).toBe(1);
      expect(r.stderr).not.toMatch(stackTrace);
      expect(r.stderr).toContain(
        `error (STATE_DB_LOCKED): opsbook db migrate waited 30 s for its lock (advisory lock 31367363289902955) on the PostgreSQL state store at postgres://postgres@127.0.0.1:${pg.port}/${database}, held by pid ${pid}, user postgres, application 'held-by-hand'`,
      );
      expect(r.stderr).toContain(`end it (select pg_terminate_backend(${pid}))`);
      expect(r.stderr).not.toContain(pg.password);
    } finally {
      holder.kill();
    }
  }, 90_000);

  it('shows the db commands with opsbook db --help', async () => {
    const result = await runCli(['db', '--help'], { env: clean });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/db migrate {2,}bring the team's PostgreSQL state store/);
    expect(result.stdout).toMatch(/db grant-runner {2}give the role runners connect as/);
  });
});
