import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashOfLine, journalPath } from './journal.js';
import { ledgerPath } from './ledger.js';
import { filesStore, type StateStore } from './store.js';

/*
 * The engineer who runs opsbook owns the files store's state dir. A run that reached no host does
 * not use its approval; these are the edits that would turn a run that did reach one into such a
 * run, and each must leave it counted.
 */

let root: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'opsbook-approval-use-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const claim = (runId: string) => ({ approvalId: 'apr-1', maxRuns: 1, runId, ticket: 'OPS-7' });

/** A maxRuns: 1 run that started a step on web-1, then lost it: it used the approval. */
async function reachedRun(): Promise<{ store: StateStore; stateDir: string }> {
  const stateDir = path.join(root, `state-${++n}`);
  const store = filesStore(stateDir);
  await store.claimRun(claim('r1'));
  const journal = await store.createJournal('r1');
  await journal.append({ type: 'run-start', approval: { id: 'apr-1' }, hosts: ['web-1'] });
  await journal.append({ type: 'host-start', host: 'web-1' });
  await journal.append({ type: 'step-start', host: 'web-1', step: 'restart' });
  await journal.append({ type: 'host-end', host: 'web-1', status: 'unreachable' });
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
  expect(await store.runsUsed('apr-1')).toBe(1);
  return { store, stateDir };
}

async function editLedger(stateDir: string, edit: (record: Record<string, unknown>) => void) {
  const file = ledgerPath(stateDir);
  const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
  const edited = lines.map((l) => {
    const record = JSON.parse(l) as Record<string, unknown>;
    edit(record);
    return JSON.stringify(record);
  });
  await writeFile(file, `${edited.join('\n')}\n`);
}

/** Drops the step-start and re-chains what is left, as a careful attacker would. */
async function dropStepStart(stateDir: string): Promise<{ head: string; count: number }> {
  const file = journalPath(stateDir, 'r1');
  const events = (await readFile(file, 'utf8'))
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e.type !== 'step-start');
  let prev = events[0]!.prev as string;
  const lines = events.map((e, i) => {
    const line: Record<string, unknown> = { ...e, seq: i + 1, prev };
    line.hash = hashOfLine(line);
    prev = line.hash as string;
    return JSON.stringify(line);
  });
  await writeFile(file, `${lines.join('\n')}\n`);
  return { head: prev, count: lines.length };
}

describe('a files store edited to make a reached run look unreached', () => {
  it('still counts the run when its ledger end is marked reached: false', async () => {
    const { store, stateDir } = await reachedRun();
    await editLedger(stateDir, (r) => {
      if (r.type === 'run-end') r.reached = false;
    });
    expect(await store.approvalRuns('apr-1')).toEqual([{ runId: 'r1', used: true }]);
    await expect(store.claimRun(claim('r2'))).rejects.toMatchObject({ code: 'RUNS_EXHAUSTED' });
  });

  it('still counts it when the journal loses its step-start too, re-chained but not re-pinned', async () => {
    const { store, stateDir } = await reachedRun();
    await dropStepStart(stateDir);
    await editLedger(stateDir, (r) => {
      if (r.type === 'run-end') r.reached = false;
    });
    expect(await store.runsUsed('apr-1')).toBe(1);
    await expect(store.claimRun(claim('r2'))).rejects.toMatchObject({ code: 'RUNS_EXHAUSTED' });
  });

  it('still counts it when its journal is deleted', async () => {
    const { store, stateDir } = await reachedRun();
    await rm(journalPath(stateDir, 'r1'));
    await editLedger(stateDir, (r) => {
      if (r.type === 'run-end') r.reached = false;
    });
    expect(await store.runsUsed('apr-1')).toBe(1);
  });
});
