import { spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RefusalError, WorkFailedError } from '@opsbook/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journalPath, readJournalFile } from './journal.js';
import {
  consumeRun,
  LEDGER_FILE,
  LEDGER_LOCK,
  ledgerEntryOf,
  readLedger,
  recordRunEnd,
  runsUsed,
  withLedgerLock,
} from './ledger.js';
import { filesStore } from './store.js';

let root: string;
let n = 0;
const freshStateDir = () => path.join(root, `state-${++n}`);
const clock = () => new Date('2025-06-01T12:00:00.000Z');
const claim = (runId: string, maxRuns = 2, approvalId = 'apr-1') => ({
  approvalId,
  maxRuns,
  runId,
  ticket: 'OPS-7',
});
const HEAD = `sha256:${'a'.repeat(64)}`;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'opsbook-ledger-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The PID of a process that has exited: a lock holding it is stale. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid as number;
}

describe('consumeRun', () => {
  it('records runs until maxRuns, then refuses with RUNS_EXHAUSTED naming the earlier runs', async () => {
    const stateDir = freshStateDir();
    expect(await consumeRun(stateDir, claim('r1'), { clock })).toEqual({ runsUsed: 1 });
    expect(await consumeRun(stateDir, claim('r2'), { clock })).toEqual({ runsUsed: 2 });
    const refusal = await consumeRun(stateDir, claim('r3'), { clock }).catch((e) => e);
    expect(refusal).toBeInstanceOf(RefusalError);
    expect(refusal).toMatchObject({
      kind: 'refused',
      code: 'RUNS_EXHAUSTED',
      details: { approvalId: 'apr-1', maxRuns: 2, runIds: ['r1', 'r2'] },
    });
    expect(refusal.message).toMatch(/allows 2 run\(s\) and 2 already started \(r1, r2\)/);
    expect(await runsUsed(stateDir, 'apr-1')).toBe(2);
    expect(await readLedger(stateDir)).toEqual([
      { type: 'run', approvalId: 'apr-1', runId: 'r1', ticket: 'OPS-7', at: clock().toISOString() },
      { type: 'run', approvalId: 'apr-1', runId: 'r2', ticket: 'OPS-7', at: clock().toISOString() },
    ]);
  });

  it('counts each approval on its own', async () => {
    const stateDir = freshStateDir();
    await consumeRun(stateDir, claim('a1', 1, 'apr-a'));
    expect(await consumeRun(stateDir, claim('b1', 1, 'apr-b'))).toEqual({ runsUsed: 1 });
    await expect(consumeRun(stateDir, claim('a2', 1, 'apr-a'))).rejects.toMatchObject({
      code: 'RUNS_EXHAUSTED',
    });
    expect(await runsUsed(stateDir, 'apr-unknown')).toBe(0);
  });

  it('refuses a run id already in the ledger and a claim without a positive maxRuns', async () => {
    const stateDir = freshStateDir();
    await consumeRun(stateDir, claim('same', 5));
    await expect(consumeRun(stateDir, claim('same', 5))).rejects.toMatchObject({
      problems: [expect.objectContaining({ rule: 'duplicate-run-id' })],
    });
    await expect(consumeRun(stateDir, claim('z', 0))).rejects.toMatchObject({
      problems: [expect.objectContaining({ rule: 'bad-run-claim' })],
    });
    await expect(consumeRun(stateDir, { ...claim('z'), approvalId: '' })).rejects.toMatchObject({
      problems: [expect.objectContaining({ rule: 'bad-run-claim' })],
    });
    expect(await runsUsed(stateDir, 'apr-1')).toBe(1);
  });

  it('keeps the ledger private (0600 in a 0700 state dir) and releases its lock', async () => {
    const stateDir = freshStateDir();
    await consumeRun(stateDir, claim('r1'));
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(stateDir, LEDGER_FILE))).mode & 0o777).toBe(0o600);
    await expect(access(path.join(stateDir, LEDGER_LOCK))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('refuses to count around an unreadable ledger line', async () => {
    const stateDir = freshStateDir();
    await consumeRun(stateDir, claim('r1', 1));
    await writeFile(path.join(stateDir, LEDGER_FILE), '{"type":"run", oops\n', { flag: 'a' });
    const error = await consumeRun(stateDir, claim('r2', 9)).catch((e) => e);
    expect(error).toMatchObject({
      kind: 'invalid',
      problems: [expect.objectContaining({ rule: 'bad-ledger-line', line: 2 })],
    });
    await expect(runsUsed(stateDir, 'apr-1')).rejects.toMatchObject({ kind: 'invalid' });
  });

  it('lets a read-only view read around a damaged line, never a claim, a count or an end', async () => {
    const stateDir = freshStateDir();
    await consumeRun(stateDir, claim('r1', 1));
    await writeFile(path.join(stateDir, LEDGER_FILE), '{"type":"run", oops\n', { flag: 'a' });
    const view = filesStore(stateDir, { readsAroundDamage: true });
    expect((await view.readLedger()).map((r) => r.runId)).toEqual(['r1']);
    expect(view.ledgerDamage()).toEqual([
      { file: path.join(stateDir, LEDGER_FILE), line: 2, message: expect.stringMatching(/backup/) },
    ]);
    // The damaged line may have been a claim of apr-1: nothing counts around it.
    const refused = { kind: 'invalid', problems: [expect.objectContaining({ line: 2 })] };
    await expect(view.claimRun(claim('r2', 9))).rejects.toMatchObject(refused);
    await expect(view.runsUsed('apr-1')).rejects.toMatchObject(refused);
    await expect(view.approvalRuns('apr-1')).rejects.toMatchObject(refused);
    await expect(
      view.recordRunEnd({ runId: 'r1', head: HEAD, count: 1, status: 'ok' }),
    ).rejects.toMatchObject(refused);
    // Nor does the store every command but the views gets.
    await expect(filesStore(stateDir).readLedger()).rejects.toMatchObject(refused);
    expect(filesStore(stateDir).ledgerDamage()).toEqual([]);
  });

  it('has a report read findings around a damaged line only as a view, keeping no summary', async () => {
    const stateDir = freshStateDir();
    const store = filesStore(stateDir);
    await store.claimRun(claim('r1', 1));
    const journal = await store.createJournal('r1');
    await journal.append({
      type: 'run-start',
      runbook: { name: 'x', version: '1.0.0' },
      hosts: ['h'],
    });
    await journal.append({ type: 'host-end', host: 'h', status: 'ok' });
    await journal.append({ type: 'run-end', status: 'ok', hosts: { h: 'ok' } });
    await journal.close();
    await store.recordRunEnd({
      runId: 'r1',
      head: journal.head,
      count: journal.count,
      status: 'ok',
    });
    await writeFile(path.join(stateDir, LEDGER_FILE), '{"type":"run", oops\n', { flag: 'a' });
    const read = async (s: typeof store) => {
      const runs = [];
      for await (const run of s.readFindings({ since: new Date(0), until: new Date() }))
        runs.push(run);
      return runs;
    };
    // Not taken for journals removed since they were listed (an empty report, exit 0).
    await expect(read(store)).rejects.toMatchObject({
      problems: [expect.objectContaining({ rule: 'bad-ledger-line', line: 3 })],
    });
    const view = filesStore(stateDir, { readsAroundDamage: true });
    expect((await read(view)).map((r) => [r.runId, r.isComplete, r.outcomes.length])).toEqual([
      ['r1', true, 1],
    ]);
    expect(view.ledgerDamage()).toMatchObject([{ line: 3 }]);
    await expect(access(path.join(stateDir, 'findings', 'r1.json'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('has a view name a damaged ledger line even when every run read has its summary kept', async () => {
    const stateDir = freshStateDir();
    const store = filesStore(stateDir);
    await store.claimRun(claim('r1', 1));
    const journal = await store.createJournal('r1');
    await journal.append({
      type: 'run-start',
      runbook: { name: 'x', version: '1.0.0' },
      hosts: ['h'],
    });
    await journal.append({ type: 'host-end', host: 'h', status: 'ok' });
    await journal.append({ type: 'run-end', status: 'ok', hosts: { h: 'ok' } });
    await journal.close();
    await store.recordRunEnd({
      runId: 'r1',
      head: journal.head,
      count: journal.count,
      status: 'ok',
    });
    await store.recordFindings('r1');
    // The summary makes the ledger unneeded for r1's findings; the damage is said all the same.
    await writeFile(path.join(stateDir, LEDGER_FILE), '{"type":"run", oops\n', { flag: 'a' });
    const view = filesStore(stateDir, { readsAroundDamage: true });
    const runs = [];
    for await (const run of view.readFindings({ since: new Date(0), until: new Date() }))
      runs.push(run);
    expect(runs.map((r) => [r.runId, r.isComplete, r.outcomes.length])).toEqual([['r1', true, 1]]);
    expect(view.ledgerDamage()).toEqual([
      { file: path.join(stateDir, LEDGER_FILE), line: 3, message: expect.stringMatching(/backup/) },
    ]);
  });

  it('drops the remains of an append cut short by a crash, and writes on a line of its own', async () => {
    const stateDir = freshStateDir();
    await consumeRun(stateDir, claim('r1', 3));
    const file = path.join(stateDir, LEDGER_FILE);
    await writeFile(file, '{"type":"run","approvalId":"apr-1","ru', { flag: 'a' });
    expect(await runsUsed(stateDir, 'apr-1')).toBe(1);
    expect(await consumeRun(stateDir, claim('r2', 3))).toEqual({ runsUsed: 2 });
    const text = await readFile(file, 'utf8');
    expect(text.split('\n')).toHaveLength(3);
    expect((await readLedger(stateDir)).map((r) => r.runId)).toEqual(['r1', 'r2']);
  });
});

describe('the ledger lock', () => {
  it('takes over a lock whose holder is dead', async () => {
    const stateDir = freshStateDir();
    await mkdir(stateDir, { recursive: true });
    await writeFile(path.join(stateDir, LEDGER_LOCK), `${await deadPid()}\n`);
    expect(await consumeRun(stateDir, claim('r1'))).toEqual({ runsUsed: 1 });
    await expect(access(path.join(stateDir, LEDGER_LOCK))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('waits a bounded time for a live holder, then says who holds it and what to do', async () => {
    const stateDir = freshStateDir();
    await mkdir(stateDir, { recursive: true });
    const lock = path.join(stateDir, LEDGER_LOCK);
    await writeFile(lock, `${process.pid}\n`);
    const error = await consumeRun(stateDir, claim('r1'), {
      lock: { retries: 3, retryDelayMs: 5 },
    }).catch((e) => e);
    expect(error).toBeInstanceOf(WorkFailedError);
    expect(error).toMatchObject({ code: 'LEDGER_LOCKED', details: { holder: process.pid } });
    expect(error.message).toContain(`locked by process ${process.pid}`);
    expect(error.message).toMatch(/delete the lock file if none is running/);
    expect(await readFile(lock, 'utf8')).toBe(`${process.pid}\n`); // a live holder's lock stays
    expect(await readLedger(stateDir)).toEqual([]);
  });

  it('lets one holder at a time in, within one process too', async () => {
    const stateDir = freshStateDir();
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        withLedgerLock(stateDir, { retryDelayMs: 5 }, async () => {
          inside++;
          most = Math.max(most, inside);
          await new Promise((resolve) => setImmediate(resolve));
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
  });

  it('lets exactly maxRuns of 20 runners started at once in separate processes run', async () => {
    const script = path.resolve(
      import.meta.dirname,
      './__fixtures__/journal-ledger-race/consume-run.mjs',
    );
    const built = await stat(path.resolve(import.meta.dirname, '../dist/ledger.js'));
    if (built.mtimeMs < (await stat(path.resolve(import.meta.dirname, 'ledger.ts'))).mtimeMs) {
      throw new Error('dist/ledger.js is older than src/ledger.ts: run `pnpm build` first');
    }
    const stateDir = freshStateDir();
    const children = Array.from({ length: 20 }, (_, i) =>
      spawn(process.execPath, [script, stateDir, 'apr-race', '3', `race-${i}`], {
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    );
    const outputs = children.map((child) => {
      let out = '';
      child.stdout.setEncoding('utf8');
      const ready = new Promise<void>((resolve) =>
        child.stdout.on('data', (d: string) => {
          out += d;
          if (out.startsWith('ready\n')) resolve();
        }),
      );
      const done = new Promise<{ started: boolean; code?: string; runsUsed?: number }>((resolve) =>
        child.on('close', () => resolve(JSON.parse(out.slice('ready\n'.length)))),
      );
      return { ready, done };
    });
    // All loaded: release them together so their claims really race.
    await Promise.all(outputs.map((o) => o.ready));
    for (const child of children) child.stdin.write('go\n');
    const results = await Promise.all(outputs.map((o) => o.done));
    const started = results.filter((r) => r.started);
    expect(started).toHaveLength(3);
    expect(started.map((r) => r.runsUsed).sort()).toEqual([1, 2, 3]);
    expect(results.filter((r) => !r.started).map((r) => r.code)).toEqual(
      Array(17).fill('RUNS_EXHAUSTED'),
    );
    expect(await runsUsed(stateDir, 'apr-race')).toBe(3);
  });
});

describe('run ends', () => {
  it('records the journal head and count, which ledgerEntryOf hands to verification', async () => {
    const stateDir = freshStateDir();
    await consumeRun(stateDir, claim('r1'), { clock });
    expect(await ledgerEntryOf(stateDir, 'r1')).toEqual({
      runId: 'r1',
      approvalId: 'apr-1',
      ticket: 'OPS-7',
      startedAt: clock().toISOString(),
    });
    await recordRunEnd(stateDir, { runId: 'r1', head: HEAD, count: 12, status: 'failed' });
    expect(await ledgerEntryOf(stateDir, 'r1')).toMatchObject({
      status: 'failed',
      expectedHead: HEAD,
      expectedCount: 12,
    });
    expect(await ledgerEntryOf(stateDir, 'other')).toBeUndefined();
  });

  it('refuses a second end for a run, so a regenerated journal cannot be re-pinned', async () => {
    const stateDir = freshStateDir();
    await consumeRun(stateDir, claim('r1'));
    await recordRunEnd(stateDir, { runId: 'r1', head: HEAD, count: 3, status: 'ok' });
    await expect(
      recordRunEnd(stateDir, {
        runId: 'r1',
        head: `sha256:${'b'.repeat(64)}`,
        count: 3,
        status: 'ok',
      }),
    ).rejects.toMatchObject({ problems: [expect.objectContaining({ rule: 'run-already-ended' })] });
    expect((await ledgerEntryOf(stateDir, 'r1'))?.expectedHead).toBe(HEAD);
  });

  it('records the end of a run whose journal never got an event', async () => {
    const stateDir = freshStateDir();
    await consumeRun(stateDir, claim('r0'));
    const genesis = `sha256:${'0'.repeat(64)}`;
    await recordRunEnd(stateDir, { runId: 'r0', head: genesis, count: 0, status: 'failed' });
    expect(await ledgerEntryOf(stateDir, 'r0')).toMatchObject({ expectedCount: 0 });
  });

  it('refuses the end of a run the ledger never saw start, and a bad status', async () => {
    const stateDir = freshStateDir();
    await expect(
      recordRunEnd(stateDir, { runId: 'ghost', head: HEAD, count: 3, status: 'ok' }),
    ).rejects.toMatchObject({ problems: [expect.objectContaining({ rule: 'unknown-run' })] });
    await expect(
      recordRunEnd(stateDir, { runId: 'x', head: HEAD, count: 3, status: 'great' as 'ok' }),
    ).rejects.toMatchObject({ problems: [expect.objectContaining({ rule: 'bad-run-end' })] });
  });
});

describe('a folder where a state file should be', () => {
  it('is named in the error: the ledger, and a run’s journal (a read of a folder has no path of its own)', async () => {
    const stateDir = freshStateDir();
    await mkdir(path.join(stateDir, LEDGER_FILE), { recursive: true });
    await expect(readLedger(stateDir)).rejects.toMatchObject({
      code: 'EISDIR',
      path: path.join(stateDir, LEDGER_FILE),
    });
    const journal = journalPath(stateDir, '20260101-000000-aaaaaa');
    await mkdir(journal, { recursive: true });
    await expect(readJournalFile(stateDir, '20260101-000000-aaaaaa')).rejects.toMatchObject({
      code: 'EISDIR',
      path: journal,
    });
  });
});
