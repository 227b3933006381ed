import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../__fixtures__/fresh-database.js';
import type { StateStore } from '../store.js';
import { migrateStateStore } from './migrate.js';
import { migrations } from './migrations.js';
import { postgresStore } from './postgres-store.js';
import { grantRunnerRole } from './runner-role.js';

/*
 * An engineer holds the credentials of the runner's database role and tries to rewrite the audit
 * trail with them: erase or edit journal lines, remove a run (which frees a use of its approval's
 * maxRuns), or re-open a run that ended. The role was granted every privilege on the tables, as a
 * team would have granted it before opsbook db grant-runner existed: the database refuses anyway.
 */

let server: Postgres;
let roles = 0;
const opened: { end(): Promise<void> }[] = [];

beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.dispose();
});
afterEach(async () => {
  for (const client of opened.splice(0)) await client.end().catch(() => undefined);
});

interface Team {
  database: string;
  /** The admin's url: the role that ran opsbook db migrate (the tables' owner). */
  adminUrl: string;
  role: string;
  /** The runner's url: a role of its own, with a password. */
  runnerUrl: string;
}

/** A migrated store and a runner role; `grantAll` grants it everything on the tables. */
async function team(options: { grantAll?: boolean } = {}): Promise<Team> {
  const { name, url } = await freshDatabase(server);
  const role = `opsbook_runner_${process.pid}_${++roles}`;
  await server.psql(`create role ${role} login password 'runner-pw'`);
  if (options.grantAll ?? true)
    await server.psql(
      `grant all on all tables in schema public to ${role};
       grant all on all sequences in schema public to ${role}`,
      name,
    );
  const runnerUrl = `postgres://${role}:runner-pw@${server.host}:${server.port}/${name}`;
  return { database: name, adminUrl: url, role, runnerUrl };
}

/** A run of approval apr-1 (maxRuns 1) claimed, journaled and ended through `url`. */
async function endedRun(url: string, runId = 'r1'): Promise<void> {
  const store = track(postgresStore({ url }));
  await store.claimRun({ approvalId: 'apr-1', maxRuns: 1, runId, ticket: 'OPS-7' });
  const journal = await store.createJournal(runId);
  await journal.append({ type: 'run-start', ticket: 'OPS-7', hosts: ['web-1'] });
  await journal.append({ type: 'step-start', host: 'web-1', step: 'restart' });
  await journal.append({ type: 'step-end', host: 'web-1', step: 'restart', status: 'ok' });
  await journal.append({ type: 'run-end', status: 'ok', hosts: { 'web-1': 'ok' } });
  await store.recordRunEnd({ runId, head: journal.head, count: journal.count, status: 'ok' });
  await journal.close();
}

function track(store: StateStore): StateStore {
  opened.push({ end: () => store.close() });
  return store;
}

/** A plain SQL session of the runner role (what psql with its credentials gives). */
async function sessionOf(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  opened.push(client);
  return client;
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: { code?: string; message?: string }) => ({ code: e.code, message: e.message }),
  );

async function count(t: Team, sql: string): Promise<string> {
  return (await server.psql(sql, t.database)).trim();
}

describe("the audit trail, written with the runner role's credentials", () => {
  it('refuses DELETE of journal lines', async () => {
    const t = await team();
    await endedRun(t.runnerUrl);
    const runner = await sessionOf(t.runnerUrl);
    expect(
      await refusal(runner.query(`delete from opsbook_journal_lines where run_id = 'r1'`)),
    ).toMatchObject({ code: 'OB001', message: expect.stringContaining('append-only') });
    expect(await count(t, 'select count(*) from opsbook_journal_lines')).toBe('4');
  });

  it('refuses UPDATE of a journal line', async () => {
    const t = await team();
    await endedRun(t.runnerUrl);
    const runner = await sessionOf(t.runnerUrl);
    expect(
      await refusal(
        runner.query(
          `update opsbook_journal_lines set line = replace(line, '"ok"', '"failed"') where seq = 3`,
        ),
      ),
    ).toMatchObject({ code: 'OB001' });
    expect(
      await count(t, `select count(*) from opsbook_journal_lines where line like '%failed%'`),
    ).toBe('0');
  });

  it('refuses TRUNCATE of the journal lines and of the runs', async () => {
    const t = await team();
    await endedRun(t.runnerUrl);
    const runner = await sessionOf(t.runnerUrl);
    for (const table of ['opsbook_journal_lines', 'opsbook_runs cascade']) {
      expect(await refusal(runner.query(`truncate ${table}`))).toMatchObject({ code: 'OB001' });
    }
    expect(await count(t, 'select count(*) from opsbook_runs')).toBe('1');
    expect(await count(t, 'select count(*) from opsbook_journal_lines')).toBe('4');
  });

  it("refuses DELETE of a run's row, which would give its approval's use back", async () => {
    const t = await team();
    await endedRun(t.runnerUrl);
    const runner = await sessionOf(t.runnerUrl);
    await runner.query('begin');
    const deleted = await refusal(
      runner
        .query(`delete from opsbook_journal_lines where run_id = 'r1'`)
        .then(() => runner.query(`delete from opsbook_runs where run_id = 'r1'`)),
    );
    await runner.query('rollback');
    expect(deleted).toMatchObject({ code: 'OB001' });
    const store = track(postgresStore({ url: t.runnerUrl }));
    await expect(
      store.claimRun({ approvalId: 'apr-1', maxRuns: 1, runId: 'r2', ticket: 'OPS-7' }),
    ).rejects.toMatchObject({ code: 'RUNS_EXHAUSTED' });
  });

  it('refuses to re-open, re-pin or re-number a run', async () => {
    const t = await team();
    await endedRun(t.runnerUrl);
    const runner = await sessionOf(t.runnerUrl);
    for (const change of [
      'ended_at = null, status = null, head = null, event_count = null, reached = null',
      `status = 'failed'`,
      'reached = false', // a run that reached no host does not count against maxRuns
      `approval_id = 'apr-other'`,
      'run_number = 7',
      'journal_started_at = now()',
    ]) {
      expect(
        await refusal(runner.query(`update opsbook_runs set ${change} where run_id = 'r1'`)),
        change,
      ).toMatchObject({ code: 'OB001' });
    }
    expect((await track(postgresStore({ url: t.runnerUrl })).readRun('r1')).verification.ok).toBe(
      true,
    );
  });

  it('is refused with a message that names the store and says what happened', async () => {
    const t = await team();
    await endedRun(t.runnerUrl);
    const { refusalError } = await import('./connection.js');
    const { connectionTargetOf } = await import('./connection.js');
    const runner = await sessionOf(t.runnerUrl);
    const e = await runner.query(`delete from opsbook_runs`).catch((x: unknown) => x);
    const error = refusalError(e, connectionTargetOf(t.runnerUrl));
    expect(error).toMatchObject({ code: 'STATE_DB_REFUSED' });
    expect(error?.message).toContain(`user ${t.role}`);
    expect(error?.message).toContain('append-only');
    expect(error?.message).not.toContain('runner-pw');
  });
});

describe('a store migrated from schema version 8', () => {
  it('keeps its runs readable and makes them append-only', async () => {
    const { name, url } = await freshDatabase(server, { migrated: false });
    // The store as opsbook before the append-only step left it: migrations 1..8 and a run.
    const before = migrations.filter((m) => m.version <= 8);
    await server.psql(
      `create table opsbook_schema_migrations (version int primary key, name text not null,
         applied_at timestamptz not null default now());
       ${before.map((m) => `${m.sql};\ninsert into opsbook_schema_migrations (version, name) values (${m.version}, '${m.name}');`).join('\n')}`,
      name,
    );
    await server.psql(
      `insert into opsbook_schema_migrations (version, name) values (9, 'placeholder'), (10, 'placeholder')`,
      name,
    );
    // (the placeholders let this opsbook's store write the run; it is taken out below)
    await endedRun(url);
    await server.psql('delete from opsbook_schema_migrations where version >= 9', name);
    const result = await migrateStateStore(url);
    expect(result.applied).toEqual([
      { version: 9, name: 'append-only audit trail' },
      { version: 10, name: 'ends decided by the journal' },
    ]);
    const store = track(postgresStore({ url }));
    expect((await store.readRun('r1')).verification.ok).toBe(true);
    const admin = await sessionOf(url);
    expect(
      await refusal(admin.query(`delete from opsbook_journal_lines where run_id = 'r1'`)),
    ).toMatchObject({ code: 'OB001' });
  });
});

describe('grantRunnerRole (opsbook db grant-runner)', () => {
  it('gives a role of its own what a run needs: claim, journal, end, read', async () => {
    const t = await team({ grantAll: false });
    expect(await grantRunnerRole(t.adminUrl, t.role)).toMatchObject({
      role: t.role,
      hasQueue: false,
    });
    await endedRun(t.runnerUrl);
    const store = track(postgresStore({ url: t.runnerUrl }));
    const run = await store.readRun('r1');
    expect(run.verification).toMatchObject({ ok: true, count: 4 });
    expect(await store.runsUsed('apr-1')).toBe(1);
    // A run's findings are recorded again when a report finds them missing: delete and insert.
    await store.recordFindings('r1');
    await store.recordFindings('r1');
    await expect(
      store.claimRun({ approvalId: 'apr-1', maxRuns: 1, runId: 'r2', ticket: 'OPS-7' }),
    ).rejects.toMatchObject({ code: 'RUNS_EXHAUSTED' });
  });

  it('takes back what the role was granted too much: no UPDATE, DELETE or TRUNCATE on the audit trail', async () => {
    const t = await team({ grantAll: true });
    await grantRunnerRole(t.adminUrl, t.role);
    await endedRun(t.runnerUrl);
    const runner = await sessionOf(t.runnerUrl);
    for (const sql of [
      `delete from opsbook_journal_lines`,
      `update opsbook_journal_lines set line = line`,
      `truncate opsbook_journal_lines`,
      `delete from opsbook_runs`,
      `update opsbook_runs set run_number = 7`,
      `truncate opsbook_runs cascade`,
    ]) {
      // Refused by privilege (42501) before any trigger is asked.
      expect(await refusal(runner.query(sql)), sql).toMatchObject({ code: '42501' });
    }
  });

  it('leaves the triggers out of the runner role reach: it cannot switch them off or drop them', async () => {
    const t = await team({ grantAll: true });
    await grantRunnerRole(t.adminUrl, t.role);
    const runner = await sessionOf(t.runnerUrl);
    for (const sql of [
      'alter table opsbook_journal_lines disable trigger all',
      'drop trigger opsbook_append_only on opsbook_journal_lines',
      'set session_replication_role = replica',
    ]) {
      expect(await refusal(runner.query(sql)), sql).toMatchObject({ code: '42501' });
    }
  });

  it('refuses the role that owns the tables (or a superuser): it could switch the triggers off', async () => {
    const t = await team({ grantAll: false });
    const owner = await server.psql(
      `select tableowner from pg_tables where tablename = 'opsbook_journal_lines'`,
      t.database,
    );
    await expect(grantRunnerRole(t.adminUrl, owner.trim())).rejects.toMatchObject({
      code: 'STATE_DB_REFUSED',
      message: expect.stringMatching(/is a superuser.*cannot be a runner's role/),
    });
    // A login role the admin made a member of the owner's role owns them as well.
    await server.psql(`grant ${owner.trim()} to ${t.role}`);
    await expect(grantRunnerRole(t.adminUrl, t.role)).rejects.toMatchObject({
      code: 'STATE_DB_REFUSED',
      message: expect.stringContaining(`is a member of ${owner.trim()}`),
    });
  });

  it('refuses a role that does not exist, saying how to create it', async () => {
    const t = await team({ grantAll: false });
    await expect(grantRunnerRole(t.adminUrl, 'no_such_role')).rejects.toMatchObject({
      problems: [
        expect.objectContaining({
          rule: 'unknown-role',
          message: expect.stringContaining('create role "no_such_role" login'),
        }),
      ],
    });
  });
});
