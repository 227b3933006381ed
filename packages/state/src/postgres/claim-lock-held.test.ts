import { spawn } from 'node:child_process';
import {
  type HeldAdvisoryLock,
  holdAdvisoryLock,
  type Postgres,
  startPostgres,
} from '@opsbook/testkit/postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../__fixtures__/fresh-database.js';
import type { StateStore } from '../store.js';
import { postgresStore } from './postgres-store.js';

/*
 * Any session of the database's roles can take the advisory lock a run's claim waits for
 * (`opsbook approval <id>`) and keep it: a real psql session does here. A claim must not wait for
 * it for ever (every run of the approval, every scheduled slot with it, would hang with no word):
 * past its bound it fails in opsbook's words, naming the session and how to end it, and records
 * nothing; once the session ends, the claim goes through.
 */

let pg: Postgres;
let store: StateStore | undefined;
let held: HeldAdvisoryLock | undefined;

beforeAll(async () => {
  pg = await startPostgres();
});
afterEach(async () => {
  held?.kill();
  await held?.release();
  held = undefined;
  await store?.close();
  store = undefined;
});
afterAll(async () => {
  await pg?.dispose();
});

/** `work`, or a failure once `ms` have passed: a wait with no end fails the test, not hangs it. */
async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('a lock of the state store held by a session that is not opsbook', () => {
  it("fails a run's claim after a bounded wait, naming the session; nothing is claimed", async () => {
    const { name, url } = await freshDatabase(pg);
    held = await holdAdvisoryLock(pg.env(name), 'opsbook approval apr-1', 'stuck-psql');
    store = postgresStore({ url, lockWaitMs: 1000 });
    const claim = { approvalId: 'apr-1', maxRuns: 1, runId: 'r1', ticket: 'OPS-1' };
    const refused = await within(15_000, store.claimRun(claim)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({
      code: 'STATE_DB_LOCKED',
      kind: 'failed',
      message: expect.stringContaining(`pid ${held.pid}`),
    });
    const message = (refused as Error).message;
    expect(message).toContain("application 'stuck-psql'");
    expect(message).toContain(`select pg_terminate_backend(${held.pid})`);
    expect(message).toContain("the lock 'opsbook approval apr-1'");
    expect(message).not.toContain(pg.password);
    expect(await store.runsUsed('apr-1')).toBe(0);
    // The session ends: the same claim goes through, once.
    await held.release();
    held = undefined;
    await expect(within(15_000, store.claimRun(claim))).resolves.toEqual({ runsUsed: 1 });
    expect(await store.approvalRuns('apr-1')).toEqual([{ runId: 'r1', used: true }]);
  }, 60_000);

  it("fails recording a run's findings after a bounded wait, naming the session", async () => {
    const { name, url } = await freshDatabase(pg);
    store = postgresStore({ url, lockWaitMs: 1000 });
    await store.claimRun({ approvalId: 'apr-2', maxRuns: 1, runId: 'r2', ticket: 'OPS-2' });
    const journal = await store.createJournal('r2');
    await journal.append({ type: 'run-start', ticket: 'OPS-2', hosts: ['web-1'] });
    await journal.append({ type: 'run-end', status: 'ok', hosts: { 'web-1': 'ok' } });
    await store.recordRunEnd({
      runId: 'r2',
      head: journal.head,
      count: journal.count,
      status: 'ok',
    });
    await journal.close();
    held = await holdAdvisoryLock(pg.env(name), 'opsbook findings r2', 'stuck-psql');
    await expect(within(15_000, store.recordFindings('r2'))).rejects.toMatchObject({
      code: 'STATE_DB_LOCKED',
      message: expect.stringContaining(`select pg_terminate_backend(${held.pid})`),
    });
    await held.release();
    held = undefined;
    await expect(within(15_000, store.recordFindings('r2'))).resolves.toMatchObject({
      runId: 'r2',
    });
  }, 60_000);

  it("fails a run's claim after a bounded wait when a session keeps the runs' table locked", async () => {
    const { name, url } = await freshDatabase(pg);
    // A real psql session in an open transaction that locked the table (a DBA's maintenance,
    // a script's LOCK TABLE) and stays: it never commits.
    const session = spawn('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'], {
      env: { ...process.env, ...pg.env(name), PGAPPNAME: 'table-locker' },
    });
    let said = '';
    session.stdout.on('data', (d: Buffer) => {
      said += d.toString();
    });
    session.stdin.write(
      "begin;\nlock table opsbook_runs in access exclusive mode;\nselect 'locked';\n",
    );
    try {
      for (let i = 0; i < 200 && !said.includes('locked'); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(said).toContain('locked');
      store = postgresStore({ url, lockWaitMs: 1000 });
      const claim = { approvalId: 'apr-3', maxRuns: 1, runId: 'r3', ticket: 'OPS-3' };
      await expect(within(15_000, store.claimRun(claim))).rejects.toMatchObject({
        code: 'STATE_DB_LOCKED',
        message: expect.stringContaining('pg_terminate_backend'),
      });
      session.stdin.end('rollback;\n');
      await new Promise((r) => session.once('exit', r));
      await expect(within(15_000, store.claimRun(claim))).resolves.toEqual({ runsUsed: 1 });
    } finally {
      if (session.exitCode === null) session.kill('SIGKILL');
    }
  }, 60_000);
});
