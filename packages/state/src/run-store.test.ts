import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UsageError } from '@opsbook/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Journal, type JournalEvent, journalPath } from './journal.js';
import { consumeRun, recordRunEnd } from './ledger.js';
import { filterRuns, newRunId, type RunSummary, summarizeRun } from './run-store.js';
import { filesStore } from './store.js';

let root: string;
let n = 0;
const freshStateDir = () => path.join(root, `state-${++n}`);

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'opsbook-runs-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const start = (runId: string, hosts = ['web-01', 'web-02']): JournalEvent => ({
  type: 'run-start',
  runId,
  ticket: 'OPS-3',
  runbook: { name: 'disk-cleanup', version: '1.4.0', digest: `sha256:${'c'.repeat(64)}` },
  approval: { id: 'apr-3', runsUsed: 1, maxRuns: 5 },
  hosts,
});

/** A run as the runner makes it: ledger claim, journal, and (if it ended) the ledger's end. */
async function makeRun(
  stateDir: string,
  runId: string,
  events: JournalEvent[],
  at = new Date('2025-05-05T10:00:00Z'),
): Promise<void> {
  await consumeRun(stateDir, { approvalId: 'apr-3', maxRuns: 50, runId, ticket: 'OPS-3' });
  const journal = await Journal.create(stateDir, runId, { clock: () => at });
  for (const event of events) await journal.append(event);
  await journal.close();
  const last = events.at(-1);
  if (last?.type === 'run-end') {
    const status = last.status as 'ok';
    await recordRunEnd(stateDir, { runId, head: journal.head, count: journal.count, status });
  }
}

describe('newRunId', () => {
  it('is YYYYMMDD-HHMMSS-<6 base32> in UTC', () => {
    const id = newRunId(new Date('2025-02-03T04:05:06.789Z'), () =>
      Uint8Array.of(0, 1, 31, 32, 63, 200),
    );
    expect(id).toBe('20250203-040506-ab7a7i');
    expect(newRunId(new Date())).toMatch(/^\d{8}-\d{6}-[a-z2-7]{6}$/);
  });

  it('sorts by start time', () => {
    const ids = ['2024-12-31T23:59:59Z', '2025-01-01T00:00:00Z', '2025-01-01T00:00:01Z'].map((t) =>
      newRunId(new Date(t)),
    );
    expect([...ids].sort()).toEqual(ids);
  });

  it('keeps runs started in the same second apart', () => {
    const at = new Date('2025-01-01T00:00:00Z');
    const ids = new Set(Array.from({ length: 200 }, () => newRunId(at)));
    expect(ids.size).toBe(200);
  });
});

describe('listRuns', () => {
  it('lists runs newest first: finished, killed, and one whose journal was deleted', async () => {
    const stateDir = freshStateDir();
    await makeRun(stateDir, '20250101-100000-aaaaaa', [
      start('20250101-100000-aaaaaa'),
      { type: 'host-end', host: 'web-01', status: 'ok' },
      { type: 'run-end', status: 'failed', hosts: { 'web-01': 'ok', 'web-02': 'failed' } },
    ]);
    await makeRun(stateDir, '20250102-100000-bbbbbb', [
      start('20250102-100000-bbbbbb', ['db-01']),
      { type: 'step-start', host: 'db-01', step: 'vacuum' },
    ]);
    await makeRun(stateDir, '20250103-100000-cccccc', [start('20250103-100000-cccccc')]);
    await unlink(journalPath(stateDir, '20250103-100000-cccccc'));

    expect(await filesStore(stateDir).listRuns()).toEqual([
      {
        runId: '20250103-100000-cccccc',
        status: 'missing',
        ticket: 'OPS-3',
        approvalId: 'apr-3',
        startedAt: expect.any(String),
        hosts: { total: 0, byOutcome: {} },
      },
      {
        runId: '20250102-100000-bbbbbb',
        status: 'incomplete',
        ticket: 'OPS-3',
        runbook: 'disk-cleanup',
        version: '1.4.0',
        approvalId: 'apr-3',
        startedAt: '2025-05-05T10:00:00.000Z',
        hosts: { total: 1, byOutcome: {} },
        hostNames: ['db-01'],
      },
      {
        runId: '20250101-100000-aaaaaa',
        status: 'failed',
        ticket: 'OPS-3',
        runbook: 'disk-cleanup',
        version: '1.4.0',
        approvalId: 'apr-3',
        startedAt: '2025-05-05T10:00:00.000Z',
        endedAt: '2025-05-05T10:00:00.000Z',
        hosts: { total: 2, byOutcome: { ok: 1, failed: 1 } },
        hostNames: ['web-01', 'web-02'],
      },
    ]);
  });

  it('is empty for a state dir with no runs', async () => {
    expect(await filesStore(freshStateDir()).listRuns()).toEqual([]);
  });

  it('tolerates an empty journal, a garbage one and a half-written last line', async () => {
    const stateDir = freshStateDir();
    await makeRun(stateDir, 'r-empty', []);
    await makeRun(stateDir, 'r-garbage', [{ type: 'not-a-start' }]);
    await makeRun(stateDir, 'r-cut', [start('r-cut'), { type: 'step-start', host: 'web-01' }]);
    await writeFile(journalPath(stateDir, 'r-cut'), '{"seq":3,"at":"20', { flag: 'a' });
    const byId = Object.fromEntries(
      (await filesStore(stateDir).listRuns()).map((s) => [s.runId, s]),
    );
    expect(byId['r-empty']?.status).toBe('incomplete');
    expect(byId['r-garbage']?.status).toBe('unreadable');
    expect(byId['r-cut']).toMatchObject({ status: 'incomplete', runbook: 'disk-cleanup' });
  });

  it('reads first and last events of journals larger than one read', async () => {
    const stateDir = freshStateDir();
    const big = 'x'.repeat(200_000);
    await makeRun(stateDir, 'r-big', [
      { ...start('r-big'), note: big },
      { type: 'step-end', host: 'web-01', stdout: big },
      { type: 'run-end', status: 'ok', hosts: { 'web-01': 'ok', 'web-02': 'ok' }, note: big },
    ]);
    const [summary] = await filesStore(stateDir).listRuns();
    expect(summary).toMatchObject({ status: 'ok', hosts: { total: 2, byOutcome: { ok: 2 } } });
  });
});

describe('listRuns over journals changed after their run', () => {
  const ended = (runId: string): JournalEvent[] => [
    start(runId),
    { type: 'host-end', host: 'web-01', status: 'ok' },
    { type: 'host-end', host: 'web-02', status: 'unreachable' },
    { type: 'run-end', status: 'unreachable', hosts: { 'web-01': 'ok', 'web-02': 'unreachable' } },
  ];
  const edit = async (stateDir: string, runId: string, change: (text: string) => string) => {
    const file = journalPath(stateDir, runId);
    await writeFile(file, change(await readFile(file, 'utf8')));
  };

  it('marks tampered a run whose run-end was edited, or whose last events were cut', async () => {
    const stateDir = freshStateDir();
    await makeRun(stateDir, 'r-edited', ended('r-edited'));
    await edit(stateDir, 'r-edited', (t) =>
      t.replaceAll('"status":"unreachable"', '"status":"ok"'),
    );
    await makeRun(stateDir, 'r-cut', ended('r-cut'));
    await edit(stateDir, 'r-cut', (t) => `${t.split('\n').slice(0, 2).join('\n')}\n`);
    await makeRun(stateDir, 'r-emptied', ended('r-emptied'));
    await edit(stateDir, 'r-emptied', () => '');
    const byId = Object.fromEntries(
      (await filesStore(stateDir).listRuns()).map((s) => [s.runId, s]),
    );
    expect(byId['r-edited']).toEqual({
      runId: 'r-edited',
      status: 'tampered',
      ticket: 'OPS-3',
      runbook: 'disk-cleanup',
      version: '1.4.0',
      approvalId: 'apr-3',
      startedAt: '2025-05-05T10:00:00.000Z',
      hosts: { total: 2, byOutcome: {} },
      hostNames: ['web-01', 'web-02'],
      problem: 'its last event (seq 4) was edited: its content does not match its hash',
    });
    expect(byId['r-cut']).toMatchObject({
      status: 'tampered',
      problem: expect.stringMatching(/cut/),
    });
    expect(byId['r-emptied']).toMatchObject({ status: 'tampered' });
  });

  it('marks tampered a rebuilt journal whose chain is whole but is not the one the ledger pinned', async () => {
    const stateDir = freshStateDir();
    await makeRun(stateDir, 'r-rebuilt', ended('r-rebuilt'));
    const rebuilt = await Journal.create(freshStateDir(), 'r-rebuilt', {
      clock: () => new Date('2025-05-05T10:00:00Z'),
    });
    for (const e of ended('r-rebuilt').slice(0, 2)) await rebuilt.append(e);
    await rebuilt.append({ type: 'run-end', status: 'ok', hosts: { 'web-01': 'ok' } });
    await rebuilt.close();
    await writeFile(journalPath(stateDir, 'r-rebuilt'), await readFile(rebuilt.location));
    const [summary] = await filesStore(stateDir).listRuns();
    expect(summary).toMatchObject({ status: 'tampered', problem: expect.stringMatching(/ledger/) });
  });

  it('marks tampered a journal the ledger has no record of; a killed run stays incomplete', async () => {
    const stateDir = freshStateDir();
    const stray = await Journal.create(stateDir, 'r-stray');
    await stray.append(start('r-stray'));
    await stray.close();
    await makeRun(stateDir, 'r-killed', ended('r-killed').slice(0, 2));
    const byId = Object.fromEntries(
      (await filesStore(stateDir).listRuns()).map((s) => [s.runId, s]),
    );
    expect(byId['r-stray']).toMatchObject({
      status: 'tampered',
      problem: 'the ledger has no record of this run',
    });
    expect(byId['r-killed']?.status).toBe('incomplete');
    expect(byId['r-killed']?.problem).toBeUndefined();
  });
});

describe('readRun', () => {
  it('finds a run by a unique prefix and verifies it against the ledger', async () => {
    const stateDir = freshStateDir();
    await makeRun(stateDir, '20250101-100000-aaaaaa', [
      start('20250101-100000-aaaaaa'),
      { type: 'run-end', status: 'ok', hosts: { 'web-01': 'ok', 'web-02': 'ok' } },
    ]);
    const run = await filesStore(stateDir).readRun('20250101');
    expect(run.runId).toBe('20250101-100000-aaaaaa');
    expect(run.summary).toMatchObject({ status: 'ok', hosts: { byOutcome: { ok: 2 } } });
    expect(run.verification).toMatchObject({ ok: true, status: 'complete', count: 2 });
    expect(run.ledger).toMatchObject({ expectedCount: 2, status: 'ok' });
  });

  it('fails verification of a finished run whose journal lost its last event', async () => {
    const stateDir = freshStateDir();
    await makeRun(stateDir, 'r1', [
      start('r1'),
      { type: 'step-end', host: 'web-01', exitCode: 1 },
      { type: 'run-end', status: 'failed', hosts: { 'web-01': 'failed' } },
    ]);
    const file = journalPath(stateDir, 'r1');
    const lines = (await readFile(file, 'utf8')).split('\n');
    await writeFile(file, `${lines.slice(0, 2).join('\n')}\n`);
    const run = await filesStore(stateDir).readRun('r1');
    expect(run.verification.ok).toBe(false);
    expect(run.verification.problems.map((p) => p.rule)).toEqual(['tail-cut', 'regenerated']);
    expect(run.summary.status).toBe('incomplete');
  });

  it('refuses a run whose journal was deleted though the ledger recorded it', async () => {
    const stateDir = freshStateDir();
    await makeRun(stateDir, 'r-gone', [start('r-gone')]);
    await unlink(journalPath(stateDir, 'r-gone'));
    await expect(filesStore(stateDir).readRun('r-gone')).rejects.toMatchObject({
      kind: 'invalid',
      problems: [expect.objectContaining({ rule: 'journal-missing' })],
    });
  });

  it('lists a run whose journal is a folder as tampered, naming it, and refuses to show it', async () => {
    const stateDir = freshStateDir();
    const end: JournalEvent = { type: 'run-end', status: 'ok', hosts: { 'web-01': 'ok' } };
    await makeRun(stateDir, 'r-ok', [start('r-ok'), end]);
    await makeRun(stateDir, 'r-dir', [start('r-dir'), end]);
    const file = journalPath(stateDir, 'r-dir');
    await unlink(file);
    await mkdir(file);
    const store = filesStore(stateDir);
    const runs = await store.listRuns();
    expect(runs.map((r) => [r.runId, r.status])).toEqual([
      ['r-ok', 'ok'],
      ['r-dir', 'tampered'],
    ]);
    expect(runs[1]).toMatchObject({
      ticket: 'OPS-3',
      problem: `its journal ${file} cannot be read: it is a folder, not a file (EISDIR)`,
    });
    await expect(store.readRun('r-dir')).rejects.toMatchObject({
      kind: 'invalid',
      problems: [expect.objectContaining({ file, rule: 'journal-unreadable' })],
    });
  });

  it('names the candidates of an ambiguous or unknown id', async () => {
    const stateDir = freshStateDir();
    await makeRun(stateDir, '20250101-100000-aaaaaa', [start('x')]);
    await makeRun(stateDir, '20250101-110000-bbbbbb', [start('y')]);
    const ambiguous = await filesStore(stateDir)
      .resolveRunId('20250101-1')
      .catch((e) => e);
    expect(ambiguous).toBeInstanceOf(UsageError);
    expect(ambiguous.message).toBe(
      'run id "20250101-1" matches 2 runs (20250101-110000-bbbbbb, 20250101-100000-aaaaaa): give more of the id',
    );
    expect(ambiguous.details.candidates).toEqual([
      '20250101-110000-bbbbbb',
      '20250101-100000-aaaaaa',
    ]);
    const unknown = await filesStore(stateDir)
      .readRun('2026')
      .catch((e) => e);
    expect(unknown).toBeInstanceOf(UsageError);
    expect(unknown.message).toMatch(/^no run matches "2026"; recent runs: 20250101-110000-bbbbbb/);
    await expect(filesStore(stateDir).resolveRunId('')).rejects.toBeInstanceOf(UsageError);
    await expect(filesStore(freshStateDir()).resolveRunId('x')).rejects.toThrow(
      /no run has been recorded yet/,
    );
  });

  it('flags a journal the ledger never recorded', async () => {
    const stateDir = freshStateDir();
    const journal = await Journal.create(stateDir, 'r-planted');
    await journal.append(start('r-planted'));
    await journal.append({ type: 'run-end', status: 'ok', hosts: {} });
    await journal.close();
    const run = await filesStore(stateDir).readRun('r-planted');
    expect(run.verification).toMatchObject({ ok: false, status: 'complete' });
    expect(run.verification.problems.map((p) => p.rule)).toEqual(['not-in-ledger']);
    expect(run.ledger).toBeUndefined();
  });
});

describe('summarizeRun', () => {
  it('reads flat fields and host counts too', () => {
    const summary = summarizeRun(
      'r',
      { type: 'run-start', runbook: 'backup', version: '2.0.0', approvalId: 'a', hosts: ['h'] },
      { type: 'run-end', status: 'interrupted', at: 't', hosts: { ok: 3, interrupted: 2 } },
    );
    expect(summary).toEqual({
      runId: 'r',
      status: 'interrupted',
      runbook: 'backup',
      version: '2.0.0',
      approvalId: 'a',
      endedAt: 't',
      hosts: { total: 1, byOutcome: { ok: 3, interrupted: 2 } },
      hostNames: ['h'],
    });
  });
});

describe('filterRuns', () => {
  const run = (runId: string, fields: Partial<RunSummary>): RunSummary => ({
    runId,
    status: 'ok',
    hosts: { total: 0, byOutcome: {} },
    ...fields,
  });
  const runs = [
    run('c', {
      ticket: 'OPS-2',
      runbook: 'backup',
      startedAt: '2025-03-03T00:00:00.000Z',
      hostNames: ['db-1'],
    }),
    run('b', {
      ticket: 'OPS-1',
      runbook: 'inspect',
      status: 'failed',
      startedAt: '2025-03-02T00:00:00.000Z',
      hostNames: ['web-1', 'web-2'],
    }),
    run('a', {
      ticket: 'OPS-1',
      runbook: 'inspect',
      startedAt: '2025-03-01T00:00:00.000Z',
      hostNames: ['web-2'],
    }),
    run('m', { status: 'missing' }),
  ];
  const ids = (filter: Parameters<typeof filterRuns>[1]) =>
    filterRuns(runs, filter).map((r) => r.runId);

  it('keeps every run with no criterion, and the runs that meet every criterion given', () => {
    expect(ids({})).toEqual(['c', 'b', 'a', 'm']);
    expect(ids({ ticket: 'OPS-1' })).toEqual(['b', 'a']);
    expect(ids({ ticket: 'OPS-1', status: 'ok' })).toEqual(['a']);
    expect(ids({ runbook: 'backup' })).toEqual(['c']);
    expect(ids({ hosts: ['web-2', 'nope'] })).toEqual(['b', 'a']);
    expect(ids({ hosts: [] })).toEqual([]);
  });

  it('takes since as inclusive and until as exclusive; a run with no start time matches neither', () => {
    expect(ids({ since: new Date('2025-03-02T00:00:00Z') })).toEqual(['c', 'b']);
    expect(ids({ until: new Date('2025-03-02T00:00:00Z') })).toEqual(['a']);
    expect(
      ids({ since: new Date('2025-03-01T12:00:00Z'), until: new Date('2025-03-03T00:00:00Z') }),
    ).toEqual(['b']);
  });
});
