import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freshDatabase } from '../__fixtures__/fresh-database.js';
import type { JournalLine } from '../journal.js';
import { postgresStore } from './postgres-store.js';
import { SharedJournal } from './shared-journal.js';

let pg: Postgres;

beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.dispose();
});

async function claimedRun(url: string, runId = 'r1') {
  const store = postgresStore({ url });
  await store.claimRun({ approvalId: 'apr-1', maxRuns: 2, runId, ticket: 'OPS-7' });
  return store;
}

describe('a journal several processes append to', () => {
  it('chains the appends of three writers into one journal that verifies', async () => {
    const { url } = await freshDatabase(pg);
    const store = await claimedRun(url);
    const submitter = await SharedJournal.create({ url, runId: 'r1' });
    await submitter.append({ type: 'run-start', ticket: 'OPS-7', hosts: ['a', 'b'] });
    const workers = await Promise.all(
      ['shard 0', 'shard 1'].map((lease) => SharedJournal.join({ url, runId: 'r1', lease })),
    );
    expect(workers[0]?.run).toMatchObject({ approvalId: 'apr-1', runNumber: 1, isEnded: false });
    await Promise.all(
      workers.flatMap((w, i) =>
        Array.from({ length: 30 }, (_, n) =>
          w.append({ type: 'step-end', host: `h${i}`, step: `s${n}`, status: 'ok' }),
        ),
      ),
    );
    const end = await submitter.append({ type: 'run-end', status: 'ok', hosts: {} });
    expect(end.seq).toBe(62);
    await store.recordRunEnd({ runId: 'r1', head: end.hash, count: end.seq, status: 'ok' });
    await expect(
      workers[0]?.append({ type: 'step-end', host: 'h0', step: 'late', status: 'ok' }),
    ).rejects.toMatchObject({ problems: [expect.objectContaining({ rule: 'after-end' })] });
    const { verification } = await store.readRun('r1');
    expect(verification).toMatchObject({ ok: true, status: 'complete', count: 62 });
    for (const j of [submitter, ...workers]) await j.close();
    await store.close();
  });

  it("keeps a NUL byte of a step's output as U+FFFD, so that the run's jsonb queries still read every line", async () => {
    const { url } = await freshDatabase(pg);
    const store = await claimedRun(url);
    const submitter = await SharedJournal.create({ url, runId: 'r1' });
    await submitter.append({ type: 'run-start', ticket: 'OPS-7', hosts: ['web-1', 'web-2'] });
    const worker = await SharedJournal.join({ url, runId: 'r1', lease: 'run r1 shard 0' });
    await worker.append({ type: 'host-start', host: 'web-1', connection: {} });
    const line = await worker.append({
      type: 'step-end',
      host: 'web-1',
      step: 's',
      status: 'ok',
      stdout: 'a\u0000b\n',
    });
    expect((line as unknown as { stdout: string }).stdout).toBe('a\ufffdb\n');
    // What a worker asks before it starts a shard's hosts: before, PostgreSQL refused the cast.
    expect(await submitter.hostsSeen(['web-1', 'web-2'])).toEqual(['web-1']);
    const end = await submitter.append({ type: 'run-end', status: 'ok', hosts: {} });
    await store.recordRunEnd({ runId: 'r1', head: end.hash, count: end.seq, status: 'ok' });
    expect((await store.readRun('r1')).verification).toMatchObject({
      ok: true,
      status: 'complete',
    });
    await worker.close();
    await submitter.close();
    await store.close();
  });

  it('lets one process hold a lease; a second is refused with LEASE_LOST until the first ends', async () => {
    const { url } = await freshDatabase(pg);
    const store = await claimedRun(url);
    const submitter = await SharedJournal.create({ url, runId: 'r1' });
    await submitter.append({ type: 'run-start', ticket: 'OPS-7', hosts: [] });
    const first = await SharedJournal.join({ url, runId: 'r1', lease: 'run r1 shard 0' });
    expect(await submitter.isLeaseHeld('run r1 shard 0')).toBe(true);
    await expect(
      SharedJournal.join({ url, runId: 'r1', lease: 'run r1 shard 0' }),
    ).rejects.toMatchObject({ code: 'LEASE_LOST' });
    await first.close();
    expect(await submitter.isLeaseHeld('run r1 shard 0')).toBe(false);
    const second = await SharedJournal.join({ url, runId: 'r1', lease: 'run r1 shard 0' });
    await second.append({ type: 'host-start', host: 'web-1', connection: {} });
    expect(await submitter.hostsSeen(['web-1', 'web-2'])).toEqual(['web-1']);
    await second.close();
    await submitter.close();
    await store.close();
  });

  it('fences out a writer whose session died while another took its lease: its next append is LEASE_LOST, nothing written', async () => {
    const { url, name } = await freshDatabase(pg);
    const store = await claimedRun(url);
    const submitter = await SharedJournal.create({ url, runId: 'r1' });
    await submitter.append({ type: 'run-start', ticket: 'OPS-7', hosts: [] });
    const worker = await SharedJournal.join({ url, runId: 'r1', lease: 'run r1 shard 0' });
    await worker.append({ type: 'host-start', host: 'web-1', connection: {} });
    // The worker's session ends (a network cut); the submitter takes the shard over.
    await pg.psql(
      "select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and granted",
      name,
    );
    // pg_terminate_backend only signals: the session lets its locks go as it exits, a moment
    // later. Taking the lease before that is refused (LEASE_LOST), as it should be.
    for (let i = 0; i < 500; i++) {
      const held = await pg.psql(
        "select count(*) from pg_locks where locktype = 'advisory' and granted",
        name,
      );
      if (held.trim() === '0') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const takeover = await SharedJournal.join({ url, runId: 'r1', lease: 'run r1 shard 0' });
    await takeover.append({
      type: 'host-end',
      host: 'web-1',
      status: 'unreachable',
      rolledBack: false,
    });
    await expect(
      worker.append({ type: 'step-start', host: 'web-1', phase: 'steps', step: 's1', name: 'x' }),
    ).rejects.toMatchObject({ code: 'LEASE_LOST' });
    const lines = await submitter.linesAfter(0);
    expect(lines.map((l) => l.type)).toEqual(['run-start', 'host-start', 'host-end']);
    for (const j of [worker, takeover, submitter]) await j.close();
    await store.close();
  });

  it('fences out a writer whose session died while another took its lease and let it go (a shard given back): LEASE_LOST, nothing written', async () => {
    const { url, name } = await freshDatabase(pg);
    const store = await claimedRun(url);
    const submitter = await SharedJournal.create({ url, runId: 'r1' });
    await submitter.append({ type: 'run-start', ticket: 'OPS-7', hosts: [] });
    // What a worker asks on taking its shard's lease again: is the shard's job still its own?
    let isJobOwn = true;
    const worker = await SharedJournal.join({
      url,
      runId: 'r1',
      lease: 'run r1 shard 0',
      isLeaseStillOwn: async () => isJobOwn,
    });
    // A restart ends the worker's session while it is stopped (SIGSTOP) before its first host.
    await pg.psql(
      "select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and granted",
      name,
    );
    for (let i = 0; i < 500; i++) {
      const held = await pg.psql(
        "select count(*) from pg_locks where locktype = 'advisory' and granted",
        name,
      );
      if (held.trim() === '0') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    // The submitter takes the lease, gives the job back to the queue, and lets the lease go.
    const giver = await SharedJournal.join({ url, runId: 'r1', lease: 'run r1 shard 0' });
    isJobOwn = false;
    await giver.append({
      type: 'shard-returned',
      shard: 0,
      zone: 'dc1',
      hosts: ['web-1'],
      worker: 'pool-1',
      reason: 'given back',
    });
    await giver.close();
    // The worker resumes: its lease is free, but what it held it for is another's now.
    await expect(
      worker.append({ type: 'host-start', host: 'web-1', connection: {} }),
    ).rejects.toMatchObject({ code: 'LEASE_LOST' });
    const lines = await submitter.linesAfter(0);
    expect(lines.map((l) => l.type)).toEqual(['run-start', 'shard-returned']);
    for (const j of [worker, submitter]) await j.close();
    await store.close();
  });

  it('starts a host once per run: a second host-start of it, from any writer, is refused', async () => {
    const { url } = await freshDatabase(pg);
    const store = await claimedRun(url);
    const submitter = await SharedJournal.create({ url, runId: 'r1' });
    await submitter.append({ type: 'run-start', ticket: 'OPS-7', hosts: [] });
    const [a, b, c] = await Promise.all(
      ['shard 0', 'shard 1', 'shard 2'].map((lease) =>
        SharedJournal.join({ url, runId: 'r1', lease }),
      ),
    );
    await a?.append({ type: 'host-start', host: 'web_1', connection: {} });
    await expect(
      b?.append({ type: 'host-start', host: 'web_1', connection: {} }),
    ).rejects.toMatchObject({
      problems: [expect.objectContaining({ rule: 'host-started-twice' })],
    });
    // Only that exact name (an underscore is not a wildcard here)
    await c?.append({ type: 'host-start', host: 'webX1', connection: {} });
    await c?.append({ type: 'host-start', host: 'web_10', connection: {} });
    const lines = await submitter.linesAfter(0);
    expect(lines.map((l) => [l.type, l.host])).toEqual([
      ['run-start', undefined],
      ['host-start', 'web_1'],
      ['host-start', 'webX1'],
      ['host-start', 'web_10'],
    ]);
    for (const j of [a, b, c, submitter]) await j?.close();
    await store.close();
  });

  it('takes its lease back soon after a server restart, without waiting for its next append', async () => {
    const { url } = await freshDatabase(pg);
    const store = await claimedRun(url);
    const submitter = await SharedJournal.create({ url, runId: 'r1' });
    await submitter.append({ type: 'run-start', ticket: 'OPS-7', hosts: [] });
    const worker = await SharedJournal.join({ url, runId: 'r1', lease: 'run r1 shard 0' });
    await pg.restart({ downMs: 1000 });
    // The worker appends nothing (a long step); its heartbeat reconnects and re-takes the lease.
    let held = false;
    for (let i = 0; i < 100 && !held; i++) {
      held = await submitter.isLeaseHeld('run r1 shard 0');
      if (!held) await new Promise((r) => setTimeout(r, 100));
    }
    expect(held).toBe(true);
    await worker.append({ type: 'host-start', host: 'web-1', connection: {} });
    for (const j of [worker, submitter]) await j.close();
    await store.close();
  });

  it("records the submitter's session each time it takes its lease, and believes only that session", async () => {
    const { url, name } = await freshDatabase(pg);
    const store = await claimedRun(url);
    const lease = 'opsbook run r1 submitter';
    const submitter = await SharedJournal.create({ url, runId: 'r1', lease, isSubmitter: true });
    await submitter.append({ type: 'run-start', ticket: 'OPS-7', hosts: [] });
    const worker = await SharedJournal.join({ url, runId: 'r1', lease: 'run r1 shard 0' });
    const recorded = () =>
      pg.psql(
        `select s.pid, s.backend_start = a.backend_start, s.role = a.usesysid
         from opsbook_run_submitters s join pg_stat_activity a on a.pid = s.pid
           join pg_locks l on l.pid = s.pid and l.locktype = 'advisory' and l.granted
         where s.run_id = 'r1'`,
        name,
      );
    const before = await recorded();
    expect(before).toMatch(/^\d+\|t\|t\n$/);
    expect(await worker.submitterLeaseHolders(lease)).toEqual({
      isHeldBySubmitter: true,
      others: [],
    });
    // A session the store does not know as the submitter's holding the lock: not the submitter.
    await pg.psql(`update opsbook_run_submitters set pid = 0 where run_id = 'r1'`, name);
    expect(await worker.submitterLeaseHolders(lease)).toMatchObject({
      isHeldBySubmitter: false,
      others: [{ pid: Number(before.split('|')[0]), user: pg.user, isGranted: true }],
    });
    // After a restart its heartbeat takes the lease again on a new session, and records that one.
    await pg.restart({ downMs: 1000 });
    let holders = await worker.submitterLeaseHolders(lease);
    for (let i = 0; i < 100 && !holders.isHeldBySubmitter; i++) {
      await new Promise((r) => setTimeout(r, 100));
      holders = await worker.submitterLeaseHolders(lease);
    }
    expect(holders).toEqual({ isHeldBySubmitter: true, others: [] });
    expect(await recorded()).toMatch(/^\d+\|t\|t\n$/);
    await submitter.close();
    expect(await worker.submitterLeaseHolders(lease)).toEqual({
      isHeldBySubmitter: false,
      others: [],
    });
    await worker.close();
    await store.close();
  });

  it('keeps every append across a server restart, and takes the lease again after it', async () => {
    const { url } = await freshDatabase(pg);
    const store = await claimedRun(url);
    const submitter = await SharedJournal.create({ url, runId: 'r1' });
    await submitter.append({ type: 'run-start', ticket: 'OPS-7', hosts: [] });
    const worker = await SharedJournal.join({ url, runId: 'r1', lease: 'run r1 shard 0' });
    let appending = true;
    const appends: Promise<JournalLine>[] = [];
    const appender = (async () => {
      for (let i = 0; appending; i++) {
        appends.push(worker.append({ type: 'step-end', host: 'h', step: `s${i}`, status: 'ok' }));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    // Counted, not timed: a loaded machine makes far fewer appends in a given time.
    const waitLong = { timeout: 30_000, interval: 20 };
    await vi.waitFor(() => expect(appends.length).toBeGreaterThan(5), waitLong);
    const before = appends.length;
    await pg.restart({ downMs: 1500 });
    const restarted = appends.length;
    await vi.waitFor(() => expect(appends.length).toBeGreaterThan(restarted + 5), waitLong);
    appending = false;
    await appender;
    const lines = await Promise.all(appends);
    expect(restarted).toBeGreaterThan(before); // appends made while it was down
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 2));
    expect(await submitter.isLeaseHeld('run r1 shard 0')).toBe(true);
    const end = await submitter.append({ type: 'run-end', status: 'ok', hosts: {} });
    await store.recordRunEnd({ runId: 'r1', head: end.hash, count: end.seq, status: 'ok' });
    expect((await store.readRun('r1')).verification).toMatchObject({
      ok: true,
      count: appends.length + 2,
    });
    await worker.close();
    await submitter.close();
    await store.close();
  });
});
