import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalTracker } from '@opsbook/tracker';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RUN_RECORD_READS, RUNS_PROPERTY, readTicketRuns } from '../src/index.js';

/*
 * A ticket holds one property per run. Jira answers each property read on its own, and
 * readTicketRuns read them one after the other: a run's start, which reads them twice, waited
 * for every round trip of every earlier run. It now reads RUN_RECORD_READS at once.
 */

let dir: string;
let tracker: LocalTracker;
let key: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-ticket-runs-'));
  tracker = new LocalTracker({ stateDir: dir, actor: 'eve' });
  ({ key } = await tracker.create({ summary: 'many runs', grade: 'P4' }));
  // The list of earlier versions, then twelve runs of their own properties, one withdrawn.
  await tracker.setProperty(key, RUNS_PROPERTY, [
    { runId: 'run-00', approvalId: 'apr-1', by: 'eve', startedAt: '2026-01-01T00:00:00.000Z' },
  ]);
  for (let i = 1; i <= 12; i++) {
    const runId = `run-${String(i).padStart(2, '0')}`;
    await tracker.setProperty(key, `opsbook.run.${runId}`, {
      runId,
      approvalId: 'apr-1',
      by: 'eve',
      startedAt: `2026-01-01T00:00:${String(60 - i * 4).padStart(2, '0')}.000Z`,
      ...(i === 7 ? { withdrawn: true } : {}),
    });
  }
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The tracker, each property read taking `ms` and counted while it is in flight. */
function slowReads(ms: number, failOn?: string) {
  let inFlight = 0;
  const seen = { most: 0, started: [] as string[] };
  const slow = Object.create(tracker) as LocalTracker;
  slow.getProperty = async (k: string, property: string) => {
    seen.started.push(property);
    inFlight++;
    seen.most = Math.max(seen.most, inFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, ms));
      if (property === failOn) throw new Error(`reading ${property} failed`);
      return await tracker.getProperty(k, property);
    } finally {
      inFlight--;
    }
  };
  return { slow, seen };
}

describe('reading the runs recorded on a ticket', () => {
  it('reads several run records at once, never more than RUN_RECORD_READS, and keeps their order', async () => {
    const { slow, seen } = slowReads(20);
    const runs = await readTicketRuns(slow, key);
    // Oldest first, the withdrawn claim left out, the old list's run kept.
    expect(runs.map((r) => r.runId)).toEqual([
      'run-00',
      'run-12',
      'run-11',
      'run-10',
      'run-09',
      'run-08',
      'run-06',
      'run-05',
      'run-04',
      'run-03',
      'run-02',
      'run-01',
    ]);
    expect(runs.find((r) => r.runId === 'run-05')).toEqual({
      runId: 'run-05',
      approvalId: 'apr-1',
      by: 'eve',
      startedAt: '2026-01-01T00:00:40.000Z',
    });
    // The old list and the twelve records, each read once, at most RUN_RECORD_READS at a time.
    expect(seen.started).toHaveLength(13);
    expect(new Set(seen.started).size).toBe(13);
    expect(RUN_RECORD_READS).toBeGreaterThan(1);
    expect(seen.most).toBe(RUN_RECORD_READS);
  });

  it('fails as the first failed read fails, and starts no read after it', async () => {
    const { slow, seen } = slowReads(10, 'opsbook.run.run-02');
    await expect(readTicketRuns(slow, key)).rejects.toThrow('reading opsbook.run.run-02 failed');
    // The old list and the four reads in flight with the failing one; nothing after them.
    expect(seen.started.length).toBeLessThanOrEqual(1 + RUN_RECORD_READS + 1);
    expect(seen.started).not.toContain('opsbook.run.run-12');
  });
});
