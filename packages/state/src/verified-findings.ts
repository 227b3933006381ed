import { emptyRunFindings, findingsOfEvents, type RunFindings } from './findings.js';
import type { LedgerEntry } from './ledger.js';
import { unverifiedReason } from './left-out-run.js';
import { type RunSource, verifyStoredJournal } from './run-store.js';

/**
 * A run's findings derived from its journal as `opsbook journal verify` would judge it (hash
 * chain, and the last hash and event count the ledger pinned at its end): what both stores do
 * when a run's kept findings are missing or older than its journal. A journal that does not
 * verify, or that the ledger has no record of, yields no findings, only `leftOut`, so that a
 * report neither counts nor keeps what an edited or cut journal says.
 */
export async function verifiedFindingsOf(
  source: RunSource,
  runId: string,
  ledger: LedgerEntry | undefined,
): Promise<RunFindings> {
  if (!ledger) return { ...emptyRunFindings(runId), leftOut: 'the ledger has no record of it' };
  const verification = await verifyStoredJournal(source, runId, {
    expectedHead: ledger.expectedHead,
    expectedCount: ledger.expectedCount,
  });
  if (!verification.ok)
    return {
      ...emptyRunFindings(runId),
      leftOut: unverifiedReason(verification.problems[0]?.message),
    };
  return findingsOfEvents(runId, verification.events);
}
