import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freshDatabase } from '../__fixtures__/fresh-database.js';
import { Journal, type JournalLine } from '../journal.js';
import { postgresStore } from './postgres-store.js';

let pg: Postgres;
/** How long a condition is waited for (polled every 20 ms). */
const waitLong = { timeout: 30_000, interval: 20 };

beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.dispose();
});

describe('a run while PostgreSQL restarts', () => {
  it('keeps every journal append: each resolves, the journal verifies, nothing is lost or doubled', async () => {
    const { url } = await freshDatabase(pg);
    const store = postgresStore({ url });
    await store.claimRun({ approvalId: 'apr-1', maxRuns: 1, runId: 'r1', ticket: 'OPS-7' });
    const journal = await store.createJournal('r1');
    await journal.append({ type: 'run-start', ticket: 'OPS-7', hosts: ['web-1', 'web-2'] });
    // Appends keep coming, a few hosts at a time, while the server stops and starts again.
    let appending = true;
    const appends: Promise<JournalLine>[] = [];
    const appender = (async () => {
      for (let i = 0; appending; i++) {
        for (const host of ['web-1', 'web-2']) {
          appends.push(journal.append({ type: 'step-end', host, step: `s${i}`, status: 'ok' }));
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    // Counted, not timed: a loaded machine makes far fewer appends in a given time.
    await vi.waitFor(() => expect(appends.length).toBeGreaterThan(10), waitLong);
    const before = appends.length;
    await pg.restart({ downMs: 1500 });
    const restarted = appends.length;
    await vi.waitFor(() => expect(appends.length).toBeGreaterThan(restarted + 10), waitLong);
    appending = false;
    await appender;
    const lines = await Promise.all(appends);
    await journal.append({
      type: 'run-end',
      status: 'ok',
      hosts: { 'web-1': 'ok', 'web-2': 'ok' },
    });
    await store.recordRunEnd({
      runId: 'r1',
      head: journal.head,
      count: journal.count,
      status: 'ok',
    });
    await journal.close();
    expect(restarted).toBeGreaterThan(before); // appends made while it was down
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 2));
    const { verification } = await store.readRun('r1');
    expect(verification).toMatchObject({ ok: true, status: 'complete', problems: [] });
    expect(verification.count).toBe(appends.length + 2);
    await store.close();
  });

  it('records a run end asked for while the server is down, once it is back', async () => {
    const { url } = await freshDatabase(pg);
    const store = postgresStore({ url });
    await store.claimRun({ approvalId: 'apr-1', maxRuns: 1, runId: 'r1', ticket: 'OPS-7' });
    const journal = await store.createJournal('r1');
    await journal.append({ type: 'run-start', ticket: 'OPS-7', hosts: [] });
    await journal.append({ type: 'run-end', status: 'ok', hosts: {} });
    const restarted = pg.restart({ downMs: 3000 });
    // Down for certain (not 200 ms later, which a loaded machine may not have stopped it by).
    await vi.waitFor(() => expect(pg.psql('select 1')).rejects.toThrow(), waitLong);
    await store.recordRunEnd({ runId: 'r1', head: journal.head, count: 2, status: 'ok' });
    await restarted;
    expect((await store.readRun('r1')).verification).toMatchObject({ ok: true, count: 2 });
    await store.close();
  });

  it('takes a batch already stored (its commit answered too late) as written, and another line at its seq as a conflict', async () => {
    const { url, name } = await freshDatabase(pg);
    const store = postgresStore({ url });
    await store.claimRun({ approvalId: 'apr-1', maxRuns: 2, runId: 'r1', ticket: 'OPS-7' });
    const clock = () => new Date('2025-06-01T12:00:00.000Z');
    // The line the journal is about to write, as a first attempt would have committed it.
    const texts: string[] = [];
    const probe = Journal.over(
      { location: 'probe', write: async (_l, t) => void texts.push(...t), close: async () => {} },
      'r1',
      { clock },
    );
    const line = await probe.append({ type: 'run-start', ticket: 'OPS-7', hosts: [] });
    const quoted = (t: string) => `'${t.replaceAll("'", "''")}'`;
    const insert = (text: string, hash: string) =>
      pg.psql(
        `insert into opsbook_journal_lines values ('r1', 1, ${quoted(text)}, ${quoted(hash)})`,
        name,
      );
    const journal = await store.createJournal('r1', { clock });
    await insert(texts[0]?.slice(0, -1) ?? '', line.hash);
    expect(await journal.append({ type: 'run-start', ticket: 'OPS-7', hosts: [] })).toEqual(line);
    expect((await store.readRun('r1')).verification).toMatchObject({ ok: true, count: 1 });

    await store.claimRun({ approvalId: 'apr-1', maxRuns: 2, runId: 'r2', ticket: 'OPS-7' });
    const other = await store.createJournal('r2', { clock });
    await pg.psql(
      `insert into opsbook_journal_lines values ('r2', 1, '{"forged":true}', 'sha256:forged')`,
      name,
    );
    await expect(
      other.append({ type: 'run-start', ticket: 'OPS-7', hosts: [] }),
    ).rejects.toMatchObject({
      problems: [expect.objectContaining({ rule: 'journal-conflict' })],
    });
    await store.close();
  });
});
