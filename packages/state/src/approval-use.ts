import { type JournalExpectation, verifyJournalBytes } from './journal-verify.js';
import type { LedgerEntry } from './ledger.js';

/**
 * Whether a run used its approval. Every claimed run does, except one that touched nothing:
 * its journal, verified against the head and event count the store pinned at its end, is
 * complete and holds no step-start, so no command of it started anywhere (every host could not
 * be reached, had an unknown or changed host key, or the run stopped before its first step).
 * A run still running, killed, or whose journal does not verify, used it.
 */
export function isRunUnused(journal: Uint8Array | undefined, pin: JournalExpectation): boolean {
  if (!journal || pin.expectedHead === undefined || pin.expectedCount === undefined) return false;
  const verification = verifyJournalBytes(journal, pin);
  return (
    verification.ok &&
    verification.status === 'complete' &&
    !verification.events.some((e) => e.type === 'step-start')
  );
}

/** One claimed run of an approval, and whether it counts against the approval's `maxRuns`. */
export interface ApprovalRun {
  runId: string;
  used: boolean;
}

/**
 * The runs claimed under `approvalId`, in claim order, from a files ledger's entries. A run whose end the
 * ledger marks `reached: false` is checked again against its journal every time: a ledger line
 * edited to call a reached run unreached (or a journal edited without its pin) still counts.
 */
export async function approvalRunsIn(
  entries: Iterable<LedgerEntry>,
  approvalId: string,
  readJournal: (runId: string) => Promise<Uint8Array | undefined>,
): Promise<ApprovalRun[]> {
  const runs: ApprovalRun[] = [];
  for (const entry of entries) {
    if (entry.approvalId !== approvalId) continue;
    const used =
      entry.reached !== false ||
      !isRunUnused(await readJournal(entry.runId), {
        expectedHead: entry.expectedHead,
        expectedCount: entry.expectedCount,
      });
    runs.push({ runId: entry.runId, used });
  }
  return runs;
}

/** The runs of `runs` that count against the approval. */
export function usedRunIds(runs: readonly ApprovalRun[]): string[] {
  return runs.filter((r) => r.used).map((r) => r.runId);
}
