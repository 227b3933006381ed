import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../__fixtures__/fresh-database.js';
import type { StateStore } from '../store.js';
import { postgresStore } from './postgres-store.js';

/*
 * Someone with write access to the database edits a run behind opsbook's back: the hash chain
 * in the lines, and the head and count pinned on the run's row, show it when the run is read.
 * The tables are append-only (append-only.test.ts) for any role but a superuser's session that
 * switches triggers off (session_replication_role = replica), as these edits do.
 */

let pg: Postgres;
let store: StateStore;
let database: string;

beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.dispose();
});
afterEach(async () => {
  await store?.close();
});

async function endedRun(runId = 'r1'): Promise<void> {
  const fresh = await freshDatabase(pg);
  database = fresh.name;
  store = postgresStore({ url: fresh.url });
  await store.claimRun({ approvalId: 'apr-1', maxRuns: 3, runId, ticket: 'OPS-7' });
  const journal = await store.createJournal(runId);
  await journal.append({ type: 'run-start', ticket: 'OPS-7', hosts: ['web-1'] });
  await journal.append({
    type: 'step-end',
    host: 'web-1',
    step: 'restart',
    status: 'ok',
    stdout: 'done',
  });
  await journal.append({ type: 'run-end', status: 'ok', hosts: { 'web-1': 'ok' } });
  await store.recordRunEnd({ runId, head: journal.head, count: journal.count, status: 'ok' });
  await journal.close();
  expect((await store.readRun(runId)).verification.ok).toBe(true);
}

const sql = (text: string) => pg.psql(`set session_replication_role = replica; ${text}`, database);

describe('a run edited in the database', () => {
  it('is flagged when a line is updated', async () => {
    await endedRun();
    await sql(
      `update opsbook_journal_lines set line = replace(line, '"stdout":"done"', '"stdout":"fine"') where run_id = 'r1' and seq = 2`,
    );
    const { verification } = await store.readRun('r1');
    expect(verification.ok).toBe(false);
    expect(verification.problems).toEqual([expect.objectContaining({ line: 2, rule: 'edited' })]);
  });

  it('is flagged when a line is deleted', async () => {
    await endedRun();
    await sql(`delete from opsbook_journal_lines where run_id = 'r1' and seq = 2`);
    const { verification } = await store.readRun('r1');
    expect(verification.ok).toBe(false);
    expect(verification.problems.map((p) => p.rule)).toEqual(['tail-cut', 'dropped']);
  });

  it('is flagged when the last lines are deleted and the pinned end is left alone', async () => {
    await endedRun();
    await sql(`delete from opsbook_journal_lines where run_id = 'r1' and seq = 3`);
    const { verification } = await store.readRun('r1');
    expect(verification.problems.map((p) => p.rule).sort()).toEqual(['regenerated', 'tail-cut']);
  });

  it('is flagged when every line is deleted', async () => {
    await endedRun();
    await sql(`delete from opsbook_journal_lines where run_id = 'r1'`);
    const { verification } = await store.readRun('r1');
    expect(verification).toMatchObject({ ok: false, count: 0 });
    expect(verification.problems.map((p) => p.rule).sort()).toEqual(['regenerated', 'tail-cut']);
  });

  it('refuses a journal for a run that was never claimed', async () => {
    await endedRun();
    await expect(store.createJournal('never-claimed')).rejects.toMatchObject({
      problems: [expect.objectContaining({ rule: 'unknown-run' })],
    });
  });

  it('turns a claim that collides on its run number into RUNS_EXHAUSTED (the unique backstop)', async () => {
    await endedRun();
    // A row written without the approval's lock took run number 2 of apr-2 while run 1 is absent.
    await sql(
      `insert into opsbook_runs (run_id, approval_id, run_number, ticket, started_at) values ('intruder', 'apr-2', 2, 'OPS-9', now())`,
    );
    const refusal = await store
      .claimRun({ approvalId: 'apr-2', maxRuns: 5, runId: 'r2', ticket: 'OPS-7' })
      .catch((e) => e);
    expect(refusal).toMatchObject({
      code: 'RUNS_EXHAUSTED',
      details: { approvalId: 'apr-2', runIds: ['intruder'] },
    });
  });
});
