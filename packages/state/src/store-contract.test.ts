import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RefusalError, UsageError } from '@opsbook/schema';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from './__fixtures__/fresh-database.js';
import { postgresStore } from './postgres/postgres-store.js';
import { filesStore, type StateStore } from './store.js';

/*
 * One contract, both backends: every test below runs against the files store (a temp dir) and
 * the PostgreSQL store (a fresh migrated database on a real server), with the same expectations.
 */

/** A runner stand-in in its own process (built code: `pnpm build` first, as `pnpm test` does). */
const HOLD_RUN = path.resolve(import.meta.dirname, '__fixtures__/run-holder/hold-run.mjs');

let root: string;
let pg: Postgres;
let n = 0;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'opsbook-contract-'));
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.dispose();
  await rm(root, { recursive: true, force: true });
});

/** A clock that moves one second per reading, from the same start on both backends. */
function tickingClock(): () => Date {
  let t = Date.parse('2025-06-01T12:00:00.000Z');
  return () => {
    t += 1000;
    return new Date(t);
  };
}

/** Where a store is, as `hold-run.mjs` (a runner in another process) opens it again. */
const places = new WeakMap<StateStore, [kind: string, location: string]>();

const backends: { name: string; open: (clock: () => Date) => Promise<StateStore> }[] = [
  {
    name: 'files',
    open: async (clock) => {
      const dir = path.join(root, `state-${++n}`);
      const store = filesStore(dir, { clock });
      places.set(store, ['files', dir]);
      return store;
    },
  },
  {
    name: 'postgres',
    open: async (clock) => {
      const { url } = await freshDatabase(pg);
      const store = postgresStore({ url, clock });
      places.set(store, ['postgres', url]);
      return store;
    },
  },
];

const claim = (runId: string, maxRuns = 2, approvalId = 'apr-1') => ({
  approvalId,
  maxRuns,
  runId,
  ticket: 'OPS-7',
});

describe.each(backends)('the $name state store', ({ open }) => {
  let store: StateStore;
  let clock: () => Date;
  const openStore = async () => {
    clock = tickingClock();
    store = await open(clock);
    return store;
  };
  afterEach(async () => {
    await store?.close();
  });

  /** A run as the runner journals it: run-start, one step per host, run-end (unless cut short). */
  async function journalRun(runId: string, options: { hosts?: string[]; end?: boolean } = {}) {
    const hosts = options.hosts ?? ['web-1', 'web-2'];
    const journal = await store.createJournal(runId, { clock });
    await journal.append({
      type: 'run-start',
      ticket: 'OPS-7',
      runbook: { name: 'restart-nginx', version: '1.2.0' },
      approval: { id: 'apr-1' },
      hosts,
    });
    await Promise.all(
      hosts.map((host) =>
        journal.append({ type: 'step-end', host, step: 'restart', status: 'ok' }),
      ),
    );
    if (options.end ?? true) {
      await journal.append({
        type: 'run-end',
        status: 'ok',
        hosts: Object.fromEntries(hosts.map((h) => [h, 'ok'])),
      });
      await store.recordRunEnd({ runId, head: journal.head, count: journal.count, status: 'ok' });
    }
    await journal.close();
    return journal;
  }

  it('claims runs until maxRuns, then refuses with RUNS_EXHAUSTED naming the earlier runs', async () => {
    await openStore();
    expect(await store.claimRun(claim('r1'))).toEqual({ runsUsed: 1 });
    expect(await store.claimRun(claim('r2'))).toEqual({ runsUsed: 2 });
    const refusal = await store.claimRun(claim('r3')).catch((e) => e);
    expect(refusal).toBeInstanceOf(RefusalError);
    expect(refusal).toMatchObject({
      code: 'RUNS_EXHAUSTED',
      details: { approvalId: 'apr-1', maxRuns: 2, runIds: ['r1', 'r2'] },
    });
    expect(refusal.message).toBe(
      'approval apr-1 allows 2 run(s) and 2 already started (r1, r2): ask a senior for a new approval',
    );
    expect(await store.runsUsed('apr-1')).toBe(2);
    expect(await store.readLedger()).toEqual([
      {
        type: 'run',
        approvalId: 'apr-1',
        runId: 'r1',
        ticket: 'OPS-7',
        at: '2025-06-01T12:00:01.000Z',
      },
      {
        type: 'run',
        approvalId: 'apr-1',
        runId: 'r2',
        ticket: 'OPS-7',
        at: '2025-06-01T12:00:02.000Z',
      },
    ]);
  });

  it('counts each approval on its own', async () => {
    await openStore();
    await store.claimRun(claim('a1', 1, 'apr-a'));
    expect(await store.claimRun(claim('b1', 1, 'apr-b'))).toEqual({ runsUsed: 1 });
    await expect(store.claimRun(claim('a2', 1, 'apr-a'))).rejects.toMatchObject({
      code: 'RUNS_EXHAUSTED',
    });
    expect(await store.runsUsed('apr-unknown')).toBe(0);
  });

  it('refuses a run id already claimed and a claim without a positive maxRuns', async () => {
    await openStore();
    await store.claimRun(claim('same', 5));
    await expect(store.claimRun(claim('same', 5, 'apr-other'))).rejects.toMatchObject({
      kind: 'invalid',
      problems: [expect.objectContaining({ rule: 'duplicate-run-id' })],
    });
    await expect(store.claimRun(claim('z', 0))).rejects.toMatchObject({
      problems: [expect.objectContaining({ rule: 'bad-run-claim' })],
    });
    expect(await store.runsUsed('apr-1')).toBe(1);
    expect(await store.runsUsed('apr-other')).toBe(0);
  });

  it('journals a run and reads it back verified against the end it recorded', async () => {
    await openStore();
    await store.claimRun(claim('20250601-120000-aaaaaa'));
    const journal = await journalRun('20250601-120000-aaaaaa');
    expect(journal.count).toBe(4);
    const view = await store.readRun('20250601-120000-aaaaaa');
    expect(view.verification).toMatchObject({
      ok: true,
      status: 'complete',
      problems: [],
      count: 4,
      head: journal.head,
    });
    expect(view.verification.events.map((e) => e.type)).toEqual([
      'run-start',
      'step-end',
      'step-end',
      'run-end',
    ]);
    expect(view.ledger).toMatchObject({
      approvalId: 'apr-1',
      status: 'ok',
      expectedHead: journal.head,
      expectedCount: 4,
    });
    expect(view.summary).toEqual({
      runId: '20250601-120000-aaaaaa',
      status: 'ok',
      ticket: 'OPS-7',
      runbook: 'restart-nginx',
      version: '1.2.0',
      approvalId: 'apr-1',
      startedAt: '2025-06-01T12:00:02.000Z',
      endedAt: '2025-06-01T12:00:05.000Z',
      hosts: { total: 2, byOutcome: { ok: 2 } },
      hostNames: ['web-1', 'web-2'],
    });
    expect(view.location).toBe(store.journalLocation('20250601-120000-aaaaaa'));
  });

  it('refuses a second journal for a run, a second end, and the end of an unknown run', async () => {
    await openStore();
    await store.claimRun(claim('r1'));
    const journal = await journalRun('r1');
    await expect(store.createJournal('r1')).rejects.toMatchObject({
      problems: [expect.objectContaining({ rule: 'journal-exists' })],
    });
    await expect(
      store.recordRunEnd({ runId: 'r1', head: journal.head, count: 4, status: 'failed' }),
    ).rejects.toMatchObject({ problems: [expect.objectContaining({ rule: 'run-already-ended' })] });
    await expect(
      store.recordRunEnd({ runId: 'nope', head: journal.head, count: 1, status: 'ok' }),
    ).rejects.toMatchObject({ problems: [expect.objectContaining({ rule: 'unknown-run' })] });
    await expect(store.createJournal('../escape')).rejects.toMatchObject({
      problems: [expect.objectContaining({ rule: 'bad-run-id' })],
    });
    expect((await store.readRun('r1')).summary.status).toBe('ok');
  });

  it('lists every run newest first: ended, still running, and claimed without a journal', async () => {
    await openStore();
    await store.claimRun(claim('20250601-120000-aaaaaa', 3));
    await journalRun('20250601-120000-aaaaaa');
    await store.claimRun(claim('20250601-130000-bbbbbb', 3));
    await journalRun('20250601-130000-bbbbbb', { hosts: ['db-1'], end: false });
    await store.claimRun(claim('20250601-140000-cccccc', 3));
    expect(await store.listRuns()).toEqual([
      {
        runId: '20250601-140000-cccccc',
        status: 'missing',
        ticket: 'OPS-7',
        approvalId: 'apr-1',
        startedAt: '2025-06-01T12:00:10.000Z',
        hosts: { total: 0, byOutcome: {} },
      },
      {
        runId: '20250601-130000-bbbbbb',
        status: 'incomplete',
        ticket: 'OPS-7',
        runbook: 'restart-nginx',
        version: '1.2.0',
        approvalId: 'apr-1',
        startedAt: '2025-06-01T12:00:08.000Z',
        hosts: { total: 1, byOutcome: {} },
        hostNames: ['db-1'],
      },
      {
        runId: '20250601-120000-aaaaaa',
        status: 'ok',
        ticket: 'OPS-7',
        runbook: 'restart-nginx',
        version: '1.2.0',
        approvalId: 'apr-1',
        startedAt: '2025-06-01T12:00:02.000Z',
        endedAt: '2025-06-01T12:00:05.000Z',
        hosts: { total: 2, byOutcome: { ok: 2 } },
        hostNames: ['web-1', 'web-2'],
      },
    ]);
    const running = await store.readRun('20250601-130000-bbbbbb');
    expect(running.verification).toMatchObject({ ok: true, status: 'incomplete', count: 2 });
    await expect(store.readRun('20250601-140000-cccccc')).rejects.toMatchObject({
      problems: [expect.objectContaining({ rule: 'journal-missing' })],
    });
  });

  it('lists a run without an end as running while its runner lives, and incomplete once it is killed', async () => {
    await openStore();
    const [kind, location] = places.get(store) ?? [];
    const runId = '20250601-150000-hhhhhh';
    const holder = spawn(process.execPath, [HOLD_RUN, kind ?? '', location ?? '', runId], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise((resolve) => holder.on('exit', resolve));
    try {
      let out = '';
      let err = '';
      holder.stderr.setEncoding('utf8').on('data', (d: string) => {
        err += d;
      });
      await new Promise<void>((resolve, reject) => {
        holder.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          if (out.includes('ready')) resolve();
        });
        holder.on('exit', () => reject(new Error(`the holder exited before it was ready: ${err}`)));
      });
      const listed = (await store.listRuns()).find((r) => r.runId === runId);
      expect(listed).toMatchObject({ status: 'running', ticket: 'OPS-9', hostNames: ['web-01'] });
      expect((await store.readRun(runId)).summary.status).toBe('running');
    } finally {
      holder.kill('SIGKILL');
      await exited;
    }
    // The server ends a killed client's session (and its lock) when it sees the socket close.
    let status: string | undefined;
    for (let i = 0; i < 50; i++) {
      status = (await store.listRuns()).find((r) => r.runId === runId)?.status;
      if (status !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe('incomplete');
    expect((await store.readRun(runId)).summary.status).toBe('incomplete');
  });

  /** A run as the runner journals it when `stepOn` (if any) started a step and the rest were unreachable. */
  async function journalUnreached(runId: string, stepOn?: string) {
    const hosts = ['web-1', 'web-2'];
    const journal = await store.createJournal(runId, { clock });
    await journal.append({ type: 'run-start', approval: { id: 'apr-1' }, hosts });
    for (const host of hosts) {
      await journal.append({ type: 'host-start', host });
      if (host === stepOn) await journal.append({ type: 'step-start', host, step: 'restart' });
      await journal.append({ type: 'host-end', host, status: 'unreachable' });
    }
    await journal.append({
      type: 'run-end',
      status: 'unreachable',
      hosts: Object.fromEntries(hosts.map((h) => [h, 'unreachable'])),
    });
    const end = { runId, head: journal.head, count: journal.count, status: 'unreachable' as const };
    await store.recordRunEnd(end);
    await journal.close();
    return end;
  }

  it('frees the claim of a run whose journal ended with no step started: the approval is not used', async () => {
    await openStore();
    await store.claimRun(claim('r1', 1));
    expect(await store.runsUsed('apr-1')).toBe(1);
    await journalUnreached('r1');
    expect(await store.runsUsed('apr-1')).toBe(0);
    expect(await store.approvalRuns('apr-1')).toEqual([{ runId: 'r1', used: false }]);
    expect((await store.readLedger()).at(-1)).toMatchObject({ runId: 'r1', reached: false });
    expect((await store.readRun('r1')).ledger).toMatchObject({ reached: false });
    // Its place goes to the next run, which is counted like any other.
    expect(await store.claimRun(claim('r2', 1))).toEqual({ runsUsed: 1 });
    await expect(store.claimRun(claim('r3', 1))).rejects.toMatchObject({
      code: 'RUNS_EXHAUSTED',
      details: { runIds: ['r2'] },
    });
    expect(await store.approvalRuns('apr-1')).toEqual([
      { runId: 'r1', used: false },
      { runId: 'r2', used: true },
    ]);
  });

  it('counts a run in which any step started, however it ended, and a run not ended yet', async () => {
    await openStore();
    await store.claimRun(claim('r1', 2));
    await journalUnreached('r1', 'web-2');
    await store.claimRun(claim('r2', 2));
    expect(await store.runsUsed('apr-1')).toBe(2);
    expect((await store.readLedger()).find((r) => r.type === 'run-end')).not.toHaveProperty(
      'reached',
    );
    await expect(store.claimRun(claim('r3', 2))).rejects.toMatchObject({
      code: 'RUNS_EXHAUSTED',
    });
  });

  it('resolves a unique prefix of a run id; an ambiguous or unknown one is a usage error', async () => {
    await openStore();
    for (const id of ['20250601-120000-aaaaaa', '20250601-120000-aabbbb', '20250602-090000-cccccc'])
      await store.claimRun(claim(id, 9));
    await journalRun('20250602-090000-cccccc');
    expect(await store.resolveRunId('20250602')).toBe('20250602-090000-cccccc');
    expect(await store.resolveRunId('20250601-120000-aab')).toBe('20250601-120000-aabbbb');
    const ambiguous = await store.resolveRunId('20250601-120000-aa').catch((e) => e);
    expect(ambiguous).toBeInstanceOf(UsageError);
    expect(ambiguous.details.candidates).toEqual([
      '20250601-120000-aabbbb',
      '20250601-120000-aaaaaa',
    ]);
    await expect(store.resolveRunId('2026')).rejects.toThrow(/no run matches "2026"; recent runs/);
    expect((await store.readRun('20250602')).verification.ok).toBe(true);
  });
});
