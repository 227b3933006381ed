import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { unreadableReason, ValidationError, writeFileAtomic } from '@opsbook/schema';
import {
  emptyRunFindings,
  type FindingsQuery,
  findingsOfEvents,
  type RunFindings,
  selectFindings,
} from './findings.js';
import {
  COMPACT_FINDINGS_VERSION,
  type CompactFindings,
  compactFindings,
  expandFindings,
} from './findings-compact.js';
import { isErrno, journalPath } from './journal.js';
import { entriesOf, type LedgerEntry } from './ledger.js';
import { unreadableJournalProblem, unverifiedReason } from './left-out-run.js';
import {
  journalIdsIn,
  type RunRecordView,
  type RunSource,
  readRun,
  verifiedRun,
} from './run-store.js';
import { verifiedFindingsOf } from './verified-findings.js';

/**
 * The files backend's findings: one summary per run, `<stateDir>/findings/<runId>.json`, written
 * atomically when the run ends. It is derived data: it names the journal size and modification
 * time it was derived from, and a summary that is missing, unreadable or older than its journal
 * is derived again from the journal (and written, once the run has ended), so state dirs from
 * before summaries existed report as before, only once slower.
 *
 * The summary is the compact form both backends keep (findings-compact.ts), stamped with its
 * kind, run id and journal.
 */
export const FINDINGS_DIR = 'findings';
const SUMMARY_KIND = 'RunFindings';

export function findingsPath(stateDir: string, runId: string): string {
  return path.join(stateDir, FINDINGS_DIR, `${runId}.json`);
}

/** Derives a run's findings from its verified journal (`run`, or read now) and writes its summary. */
export async function recordFindingsIn(
  stateDir: string,
  source: RunSource,
  runId: string,
  run?: RunRecordView,
): Promise<RunFindings> {
  const { verification, location } = verifiedRun(run, runId) ?? (await readRun(source, runId));
  if (!verification.ok) throw unverified(location, runId, verification.problems[0]?.message);
  const findings = findingsOfEvents(runId, verification.events);
  await writeSummary(stateDir, findings, await stat(journalPath(stateDir, runId)));
  return findings;
}

/**
 * The runs' findings in the query's range, in run id order. The ledger is read when a run's
 * findings must be derived from its journal (verified against it, verified-findings.ts), and by
 * a read-only view (`readsAroundDamage`) in any case, so that its damaged lines are named in
 * `ledgerDamage()` even when every run's kept summary makes the ledger unneeded: a report over
 * such a ledger must not look whole where runs list warns.
 */
export async function* readFindingsIn(
  stateDir: string,
  source: RunSource,
  query: FindingsQuery,
  options: { readsAroundDamage?: boolean } = {},
): AsyncGenerator<RunFindings> {
  const ids = (await journalIdsIn(stateDir)).sort();
  let ledger: Promise<Map<string, LedgerEntry>> | undefined;
  const readEntries = () => {
    ledger ??= source.readLedger().then(entriesOf);
    return ledger;
  };
  const ledgerEntry = async (runId: string) => (await readEntries()).get(runId);
  if (options.readsAroundDamage) await readEntries();
  for (const runId of ids) {
    const run = await runFindingsOf(stateDir, source, runId, query.since, ledgerEntry);
    const selected = run && selectFindings(run, query);
    if (selected) yield selected;
  }
}

async function runFindingsOf(
  stateDir: string,
  source: RunSource,
  runId: string,
  since: Date,
  ledgerEntry: (runId: string) => Promise<LedgerEntry | undefined>,
): Promise<RunFindings | undefined> {
  const file = journalPath(stateDir, runId);
  let journal: JournalStamp;
  try {
    journal = await stat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Removed since it was listed: as if never there.
    if (code === 'ENOENT') return undefined;
    return unreadable(runId, file, e);
  }
  // A journal last written before the range starts holds nothing in it.
  if (journal.mtimeMs < since.getTime()) return undefined;
  const kept = await readSummary(stateDir, runId, journal);
  if (kept) return kept;
  // Outside the try: a ledger that cannot be read is said, not taken for a removed journal.
  const entry = await ledgerEntry(runId);
  let run: RunFindings;
  try {
    run = await verifiedFindingsOf(source, runId, entry);
  } catch (e) {
    // Removed since it was listed: as if never there.
    if (e instanceof ValidationError) return undefined;
    if (!isErrno(e)) throw e;
    return unreadable(runId, file, e);
  }
  // A journal still being written would make a summary stale at its next line; one that does
  // not verify has no findings to keep (leftOut, never complete).
  // Nor one verified around a damaged ledger line, which may have been this run's pinned end.
  if (run.isComplete && !source.ledgerDamage?.().length) {
    // Only speed is lost when the state dir refuses the summary (read-only, full): the
    // findings above are complete, and the next report derives them again.
    await writeSummary(stateDir, run, journal).catch(() => undefined);
  }
  return run;
}

/** A run whose journal cannot be read: left out and named, as one that does not verify. */
function unreadable(runId: string, file: string, e: unknown): RunFindings {
  return {
    ...emptyRunFindings(runId),
    leftOut: unverifiedReason(unreadableJournalProblem(file, unreadableReason(e))),
  };
}

function unverified(location: string, runId: string, why: string | undefined): ValidationError {
  return ValidationError.single(
    location,
    `the journal of run ${runId} does not verify (${why ?? 'see opsbook journal verify'}): its findings are not recorded`,
    'journal-unverified',
  );
}

interface JournalStamp {
  size: number;
  mtimeMs: number;
}

interface Summary extends CompactFindings {
  kind: typeof SUMMARY_KIND;
  runId: string;
  journal: JournalStamp;
}

async function writeSummary(stateDir: string, run: RunFindings, journal: JournalStamp) {
  const summary: Summary = {
    kind: SUMMARY_KIND,
    ...compactFindings(run),
    runId: run.runId,
    journal: { size: journal.size, mtimeMs: journal.mtimeMs },
  };
  await writeFileAtomic(findingsPath(stateDir, run.runId), JSON.stringify(summary), {
    mode: 0o600,
    dirMode: 0o700,
  });
}

/** The summary of `runId` when it was derived from the journal as it is now; else undefined. */
async function readSummary(
  stateDir: string,
  runId: string,
  journal: JournalStamp,
): Promise<RunFindings | undefined> {
  let summary: Summary;
  try {
    summary = JSON.parse(await readFile(findingsPath(stateDir, runId), 'utf8')) as Summary;
  } catch {
    // Missing or unreadable: derived again from the journal.
    return undefined;
  }
  if (
    summary?.kind !== SUMMARY_KIND ||
    summary.version !== COMPACT_FINDINGS_VERSION ||
    summary.runId !== runId ||
    summary.journal?.size !== journal.size ||
    summary.journal?.mtimeMs !== journal.mtimeMs
  )
    return undefined;
  return expandFindings(runId, summary);
}
