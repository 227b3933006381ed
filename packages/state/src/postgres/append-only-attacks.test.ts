import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../__fixtures__/fresh-database.js';
import type { StateStore } from '../store.js';
import { postgresStore } from './postgres-store.js';
import { grantRunnerRole } from './runner-role.js';

/*
 * An engineer holds the credentials of the role opsbook db grant-runner granted and uses the
 * writes that role keeps (INSERT of journal lines, the once-written end columns of a run) to
 * free a use of an approval's maxRuns or to change what another run's journal says.
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

async function team(): Promise<{ database: string; runnerUrl: string }> {
  const { name, url } = await freshDatabase(server);
  const role = `opsbook_attacker_${process.pid}_${++roles}`;
  await server.psql(`create role ${role} login password 'runner-pw'`);
  await grantRunnerRole(url, role);
  return {
    database: name,
    runnerUrl: `postgres://${role}:runner-pw@${server.host}:${server.port}/${name}`,
  };
}

function track(store: StateStore): StateStore {
  opened.push({ end: () => store.close() });
  return store;
}

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

describe("maxRuns, against the runner role's own writes", () => {
  it('counts a run that reached a host even when its end is pinned by hand with reached = false', async () => {
    const t = await team();
    const store = track(postgresStore({ url: t.runnerUrl }));
    await store.claimRun({ approvalId: 'apr-1', maxRuns: 1, runId: 'r1', ticket: 'OPS-7' });
    const journal = await store.createJournal('r1');
    await journal.append({ type: 'run-start', ticket: 'OPS-7', hosts: ['web-1'] });
    await journal.append({ type: 'step-start', host: 'web-1', step: 'restart' });
    // The runner was killed on web-1; the engineer ends the run by hand as one that reached
    // no host, to run the approval once more.
    const runner = await sessionOf(t.runnerUrl);
    await runner.query(
      `update opsbook_runs set ended_at = now(), status = 'interrupted', head = 'x',
         event_count = 2, reached = false where run_id = 'r1'`,
    );
    expect(await store.runsUsed('apr-1')).toBe(1);
    await expect(
      store.claimRun({ approvalId: 'apr-1', maxRuns: 1, runId: 'r2', ticket: 'OPS-7' }),
    ).rejects.toMatchObject({ code: 'RUNS_EXHAUSTED' });
    await journal.close();
  });

  it('still frees the use of a run whose journal shows no step started', async () => {
    const t = await team();
    const store = track(postgresStore({ url: t.runnerUrl }));
    await store.claimRun({ approvalId: 'apr-1', maxRuns: 1, runId: 'r1', ticket: 'OPS-7' });
    const journal = await store.createJournal('r1');
    await journal.append({ type: 'run-start', ticket: 'OPS-7', hosts: ['web-1'] });
    await journal.append({
      type: 'run-end',
      status: 'unreachable',
      hosts: { 'web-1': 'unreachable' },
    });
    await store.recordRunEnd({
      runId: 'r1',
      head: journal.head,
      count: journal.count,
      status: 'unreachable',
    });
    await journal.close();
    expect(await store.runsUsed('apr-1')).toBe(0);
  });
});

describe('an ended run, against lines appended after its end', () => {
  it('refuses an INSERT into the journal of a run that ended', async () => {
    const t = await team();
    const store = track(postgresStore({ url: t.runnerUrl }));
    await store.claimRun({ approvalId: 'apr-1', maxRuns: 1, runId: 'r1', ticket: 'OPS-7' });
    const journal = await store.createJournal('r1');
    await journal.append({ type: 'run-start', ticket: 'OPS-7', hosts: ['web-1'] });
    await journal.append({ type: 'run-end', status: 'ok', hosts: { 'web-1': 'ok' } });
    await store.recordRunEnd({
      runId: 'r1',
      head: journal.head,
      count: journal.count,
      status: 'ok',
    });
    await journal.close();
    const runner = await sessionOf(t.runnerUrl);
    expect(
      await refusal(
        runner.query(
          `insert into opsbook_journal_lines (run_id, seq, line, hash)
           values ('r1', 3, '{"type":"note"}', 'x')`,
        ),
      ),
    ).toMatchObject({ code: 'OB002', message: expect.stringContaining('ended run r1') });
    expect(
      (await server.psql(`select count(*) from opsbook_journal_lines`, t.database)).trim(),
    ).toBe('2');
  });
});

describe("a schedule's slots, against the runner role's updates", () => {
  it('refuses to move a taken slot (which frees it for a second run) or to rewrite its end', async () => {
    const t = await team();
    const runner = await sessionOf(t.runnerUrl);
    // What a scheduler writes: the slot taken, then its end.
    await runner.query(
      `insert into opsbook_schedule_slots (schedule, slot, backfilled, started_at)
       values ('nightly', '2026-01-01T02:00:00Z', false, now())`,
    );
    await runner.query(
      `update opsbook_schedule_slots set ended_at = now(), outcome = 'ran', run_id = 'r1',
         run_status = 'failed' where schedule = 'nightly' and ended_at is null`,
    );
    for (const change of [
      `slot = slot + interval '1 second'`,
      `schedule = 'nightly-old'`,
      `outcome = 'refused', run_id = null, run_status = null`,
      `run_status = 'ok'`,
      'ended_at = null, outcome = null, run_id = null, run_status = null',
    ]) {
      const refused = await refusal(
        runner.query(`update opsbook_schedule_slots set ${change} where schedule = 'nightly'`),
      );
      expect(refused, change).toBeDefined();
      expect(['OB001', '42501'], change).toContain(refused?.code);
    }
    expect(
      (
        await server.psql(
          `select schedule || ' ' || extract(epoch from slot) || ' ' || outcome || ' ' || run_status from opsbook_schedule_slots`,
          t.database,
        )
      ).trim(),
    ).toBe('nightly 1767232800.000000 ran failed');
  });
});

describe('a running run whose end another session of the runner role pinned', () => {
  it("stops its runner at the next append, saying the run was ended by another session, not that 'this was not opsbook'", async () => {
    const t = await team();
    const store = track(postgresStore({ url: t.runnerUrl }));
    await store.claimRun({ approvalId: 'apr-1', maxRuns: 1, runId: 'r1', ticket: 'OPS-7' });
    const journal = await store.createJournal('r1');
    await journal.append({ type: 'run-start', ticket: 'OPS-7', hosts: ['web-1'] });
    await journal.append({ type: 'step-start', host: 'web-1', step: 'restart' });
    const other = await sessionOf(t.runnerUrl);
    await other.query(
      `update opsbook_runs set ended_at = now(), status = 'ok', head = $1, event_count = 2
       where run_id = 'r1'`,
      [journal.head],
    );
    const refused = await journal
      .append({ type: 'step-end', host: 'web-1', step: 'restart', status: 'failed' })
      .then(
        () => undefined,
        (e: { code?: string; message?: string }) => e,
      );
    expect(refused?.code).toBe('STATE_DB_REFUSED');
    expect(refused?.message).toContain('run r1');
    expect(refused?.message).toContain('another session ended run r1');
    expect(refused?.message).not.toContain('this was not opsbook');
    expect(
      (await server.psql(`select count(*) from opsbook_journal_lines`, t.database)).trim(),
    ).toBe('2');
    await journal.close().catch(() => undefined);
  });
});

describe('other ways around the triggers, with the runner role (they hold)', () => {
  it("a temp table shadowing the journal fools only the attacker's own session; writing through it to the real one is refused", async () => {
    const t = await team();
    const store = track(postgresStore({ url: t.runnerUrl }));
    await store.claimRun({ approvalId: 'apr-1', maxRuns: 1, runId: 'r1', ticket: 'OPS-7' });
    const journal = await store.createJournal('r1');
    await journal.append({ type: 'run-start', ticket: 'OPS-7', hosts: ['web-1'] });
    await journal.append({ type: 'run-end', status: 'ok', hosts: { 'web-1': 'ok' } });
    await store.recordRunEnd({
      runId: 'r1',
      head: journal.head,
      count: journal.count,
      status: 'ok',
    });
    await journal.close();
    const runner = await sessionOf(t.runnerUrl);
    // pg_temp comes first in search_path: unqualified, the name is the temp table's here.
    await runner.query(
      `create temp table opsbook_journal_lines as select * from public.opsbook_journal_lines`,
    );
    await runner.query(
      `insert into opsbook_journal_lines values ('r1', 3, '{"type":"note"}', 'x')`,
    );
    expect(
      await refusal(
        runner.query(
          `insert into public.opsbook_journal_lines select * from pg_temp.opsbook_journal_lines where seq = 3`,
        ),
      ),
    ).toMatchObject({ code: 'OB002' });
    const read = track(postgresStore({ url: t.runnerUrl }));
    expect((await read.readRun('r1')).verification).toMatchObject({ ok: true, count: 2 });
  });

  it("cannot create in the public schema (no function or table shadowing opsbook's) nor take the owner's role", async () => {
    const t = await team();
    const runner = await sessionOf(t.runnerUrl);
    const owner = (
      await server.psql(
        `select tableowner from pg_tables where tablename = 'opsbook_runs'`,
        t.database,
      )
    ).trim();
    for (const sql of [
      'create table public.opsbook_shadow (x int)',
      'create function public.opsbook_shadow() returns int language sql as $$select 1$$',
      `set role ${owner}`,
      'create schema opsbook_shadow',
    ]) {
      expect(await refusal(runner.query(sql)), sql).toMatchObject({ code: '42501' });
    }
  });
});

describe('an end written while a journal line is being inserted', () => {
  it("waits for the line's transaction, so its trigger sees the line: a step started is never counted unreached", async () => {
    const t = await team();
    const store = track(postgresStore({ url: t.runnerUrl }));
    await store.claimRun({ approvalId: 'apr-1', maxRuns: 1, runId: 'r1', ticket: 'OPS-7' });
    const journal = await store.createJournal('r1');
    await journal.append({ type: 'run-start', ticket: 'OPS-7', hosts: ['web-1'] });
    await journal.append({ type: 'run-end', status: 'failed', hosts: { 'web-1': 'failed' } });
    const head = journal.head;
    await journal.close();
    // A writer's step-start, inserted and not yet committed.
    const writer = await sessionOf(t.runnerUrl);
    await writer.query('begin');
    await writer.query(
      `insert into opsbook_journal_lines values ('r1', 3, '{"type":"step-start","host":"web-1"}', 'y')`,
    );
    // Another session ends the run as one that reached no host (lines 1..2 end with run-end).
    const ender = await sessionOf(t.runnerUrl);
    let endDone = false;
    const end = ender
      .query(
        `update opsbook_runs set ended_at = now(), status = 'failed', head = $1, event_count = 2
         where run_id = 'r1'`,
        [head],
      )
      .then(() => {
        endDone = true;
      });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(endDone).toBe(false); // waiting for the insert's transaction
    await writer.query('commit');
    await end;
    expect(await store.runsUsed('apr-1')).toBe(1);
  });
});
