import {
  entriesOf,
  type JournalLine,
  type LeftOutRun,
  type RunSource,
  type RunSummary,
  type StateStore,
  unverifiedReason,
  verifyStoredJournal,
} from '@opsbook/state';

/**
 * The run history as curation reads it (`opsbook stats`, `opsbook catalog`): each run's journal
 * verified against what the store pinned at its end (as `opsbook journal verify` does), from any
 * state store (files or PostgreSQL). A run whose journal is missing, does not start with
 * run-start, or does not verify is left out and named with the reason, never counted.
 */

export type HistoryStore = Pick<StateStore, 'kind' | 'location' | 'listRuns'> & RunSource;

export type { LeftOutRun };

export interface VerifiedRuns<T> {
  runs: T[];
  leftOut: LeftOutRun[];
}

/** Journals read side by side (a PostgreSQL store answers each in a round trip). */
const READ_CONCURRENCY = 8;

/**
 * `read` of every run of `summaries` whose journal verifies: it gets the run's summary and its
 * verified events, and keeps only what the caller needs of them (journals can be large).
 */
export async function readVerifiedRuns<T>(
  store: HistoryStore,
  summaries: readonly RunSummary[],
  read: (summary: RunSummary, events: readonly JournalLine[]) => T,
): Promise<VerifiedRuns<T>> {
  const ledger = entriesOf(await store.readLedger());
  const runs: T[] = [];
  const leftOut: LeftOutRun[] = [];
  let next = 0;
  const worker = async () => {
    for (let k = next++; k < summaries.length; k = next++) {
      const summary = summaries[k]!;
      const result = await verifiedEvents(store, summary, ledger.get(summary.runId));
      if ('reason' in result) leftOut.push({ runId: summary.runId, reason: result.reason });
      else runs.push(read(summary, result.events));
    }
  };
  await Promise.all(Array.from({ length: READ_CONCURRENCY }, worker));
  return { runs, leftOut: leftOut.sort((a, b) => (a.runId < b.runId ? -1 : 1)) };
}

async function verifiedEvents(
  store: HistoryStore,
  summary: RunSummary,
  pin: { expectedHead?: string | undefined; expectedCount?: number | undefined } | undefined,
): Promise<{ events: readonly JournalLine[] } | { reason: string }> {
  if (summary.status === 'missing') return { reason: 'its journal is missing' };
  // Its listed ends already disagree with the ledger: no need to read it whole.
  if (summary.status === 'tampered') return { reason: unverifiedReason(summary.problem) };
  if (summary.status === 'unreadable' || !summary.runbook)
    return { reason: 'its journal does not start with run-start' };
  const verification = await verifyStoredJournal(store, summary.runId, {
    expectedHead: pin?.expectedHead,
    expectedCount: pin?.expectedCount,
  });
  if (!verification.ok) return { reason: unverifiedReason(verification.problems[0]?.message) };
  return { events: verification.events };
}
