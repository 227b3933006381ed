import {
  commitAnswerLost,
  type Postgres,
  startPostgres,
  synchronousStandby,
} from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../__fixtures__/fresh-database.js';
import { postgresStore } from './postgres-store.js';
import { SharedJournal } from './shared-journal.js';

/*
 * The server commits a run's claim and the connection breaks before its answer comes back (a
 * restart or a killed backend at that instant). The claim is in the store and counts against
 * the approval's maxRuns: taking the lost answer for a failure would use up a `maxRuns: 1`
 * approval with no host touched. The instant is made real with PostgreSQL itself: a
 * synchronous standby that never answers holds the commit after it is written locally, and the
 * backend waiting there is terminated, as a restart ends it.
 */

let pg: Postgres;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await synchronousStandby(pg, '').catch(() => undefined);
  await pg?.dispose();
});

describe("a run's claim whose commit answer is lost", () => {
  it('is taken as made once the server is back: the run goes on, and is counted once', async () => {
    const { name, url } = await freshDatabase(pg);
    const store = postgresStore({ url });
    try {
      const claimed = commitAnswerLost(pg, name, 'the claim', () =>
        store.claimRun({ approvalId: 'apr-1', maxRuns: 1, runId: 'r1', ticket: 'OPS-1' }),
      );
      expect(await claimed).toEqual({ value: { runsUsed: 1 } });
      expect(await store.approvalRuns('apr-1')).toEqual([{ runId: 'r1', used: true }]);
      // The claimed run goes on: its journal is written.
      const journal = await store.createJournal('r1');
      await journal.append({ type: 'run-start', ticket: 'OPS-1', hosts: ['web-1'] });
      await journal.close();
    } finally {
      await store.close();
    }
  }, 60_000);
});

describe("a run's journal start whose commit answer is lost", () => {
  it('is taken as started once the server is back: the run writes its journal', async () => {
    const { name, url } = await freshDatabase(pg);
    const claiming = postgresStore({ url });
    await claiming.claimRun({ approvalId: 'apr-2', maxRuns: 1, runId: 'r2', ticket: 'OPS-2' });
    await claiming.close();
    const store = postgresStore({ url });
    try {
      const result = await commitAnswerLost(pg, name, 'the claim', () => store.createJournal('r2'));
      expect(result).toHaveProperty('value');
      const { value: journal } = result as {
        value: Awaited<ReturnType<typeof store.createJournal>>;
      };
      await journal.append({ type: 'run-start', ticket: 'OPS-2', hosts: ['web-1'] });
      await journal.append({ type: 'run-end', status: 'ok', hosts: { 'web-1': 'ok' } });
      await store.recordRunEnd({
        runId: 'r2',
        head: journal.head,
        count: journal.count,
        status: 'ok',
      });
      await journal.close();
      expect((await store.readRun('r2')).verification.ok).toBe(true);
      // A second journal for the run is still refused.
      await expect(store.createJournal('r2')).rejects.toMatchObject({
        message: expect.stringContaining('a journal for run r2 already exists'),
      });
    } finally {
      await store.close();
    }
  }, 60_000);
});

describe("a distributed run's journal start (its submitter's) whose commit answer is lost", () => {
  it('is taken as started once the server is back: the submitter writes the run-start', async () => {
    const { name, url } = await freshDatabase(pg);
    const claiming = postgresStore({ url });
    await claiming.claimRun({ approvalId: 'apr-3', maxRuns: 1, runId: 'r3', ticket: 'OPS-3' });
    await claiming.close();
    const result = await commitAnswerLost(pg, name, 'the claim', () =>
      SharedJournal.create({ url, runId: 'r3' }),
    );
    expect(result).toHaveProperty('value');
    const { value: journal } = result as { value: SharedJournal };
    try {
      await journal.append({ type: 'run-start', ticket: 'OPS-3', hosts: ['web-1'] });
      const last = await journal.append({
        type: 'run-end',
        status: 'ok',
        hosts: { 'web-1': 'ok' },
      });
      const store = postgresStore({ url });
      try {
        await store.recordRunEnd({ runId: 'r3', head: last.hash, count: last.seq, status: 'ok' });
        expect((await store.readRun('r3')).verification.ok).toBe(true);
      } finally {
        await store.close();
      }
    } finally {
      await journal.close();
    }
    // A second start of the run's journal is still refused.
    await expect(SharedJournal.create({ url, runId: 'r3' })).rejects.toMatchObject({
      message: expect.stringContaining('a journal for run r3 already exists'),
    });
  }, 60_000);
});
