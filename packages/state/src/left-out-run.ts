/**
 * A run that a view of many runs (stats, catalog, report) leaves out of its numbers, and why:
 * its journal is missing, is not a run's, or does not verify against the ledger. Views name
 * each one (`run <id> left out: <reason>`) rather than count what cannot be believed.
 */
export interface LeftOutRun {
  runId: string;
  reason: string;
}

/**
 * What is wrong with a journal that cannot be read at all (a folder in its place, a link loop,
 * no permission): a `tampered` run's problem, and with unverifiedReason a left-out run's reason.
 */
export function unreadableJournalProblem(location: string, reason: string): string {
  return `its journal ${location} cannot be read: ${reason}`;
}

/** The reason for a journal that does not verify, with its first problem (or what to run). */
export function unverifiedReason(problem: string | undefined): string {
  return `its journal does not verify (${problem ?? 'opsbook journal verify'})`;
}
