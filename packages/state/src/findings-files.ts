import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ValidationError, writeFileAtomic } from '@opsbook/schema';
import {
  type FactsRow,
  type FindingRow,
  type FindingStatus,
  type FindingsQuery,
  findingsOfEvents,
  findingsOfJournalText,
  type HostOutcomeRow,
  type RunFindings,
  selectFindings,
} from './findings.js';
import { journalPath } from './journal.js';
import { journalIdsIn, type RunSource, readRun } from './run-store.js';

/**
 * The files backend's findings: one summary per run, `<stateDir>/findings/<runId>.json`, written
 * atomically when the run ends. It is derived data: it names the journal size and modification
 * time it was derived from, and a summary that is missing, unreadable or older than its journal
 * is derived again from the journal (and written, once the run has ended), so state dirs from
 * before summaries existed report as before, only once slower.
 *
 * Rows are stored as arrays, not objects: a month of a thousand hosts is 210,000 findings, and
 * parsing arrays is what keeps `opsbook report` under two seconds.
 */
export const FINDINGS_DIR = 'findings';
const SUMMARY_KIND = 'RunFindings';
const SUMMARY_VERSION = 1;

export function findingsPath(stateDir: string, runId: string): string {
  return path.join(stateDir, FINDINGS_DIR, `${runId}.json`);
}

/** Derives a run's findings from its verified journal and writes its summary. */
export async function recordFindingsIn(
  stateDir: string,
  source: RunSource,
  runId: string,
): Promise<RunFindings> {
  const { verification, location } = await readRun(source, runId);
  if (!verification.ok) throw unverified(location, runId, verification.problems[0]?.message);
  const run = findingsOfEvents(runId, verification.events);
  await writeSummary(stateDir, run, await stat(journalPath(stateDir, runId)));
  return run;
}

/** The runs' findings in the query's range, in run id order. */
export async function* readFindingsIn(
  stateDir: string,
  query: FindingsQuery,
): AsyncGenerator<RunFindings> {
  const ids = (await journalIdsIn(stateDir)).sort();
  for (const runId of ids) {
    const run = await runFindingsOf(stateDir, runId, query.since);
    const selected = run && selectFindings(run, query);
    if (selected) yield selected;
  }
}

async function runFindingsOf(
  stateDir: string,
  runId: string,
  since: Date,
): Promise<RunFindings | undefined> {
  const file = journalPath(stateDir, runId);
  let journal: JournalStamp;
  try {
    journal = await stat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Removed since it was listed: as if never there.
    if (code === 'ENOENT') return undefined;
    return unreadable(runId, code);
  }
  // A journal last written before the range starts holds nothing in it.
  if (journal.mtimeMs < since.getTime()) return undefined;
  const kept = await readSummary(stateDir, runId, journal);
  if (kept) return kept;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return unreadable(runId, (e as NodeJS.ErrnoException).code);
  }
  const run = findingsOfJournalText(runId, text);
  // A journal still being written would make a summary stale at its next line.
  if (run.isComplete) {
    // Only speed is lost when the state dir refuses the summary (read-only, full): the
    // findings above are complete, and the next report derives them again.
    await writeSummary(stateDir, run, journal).catch(() => undefined);
  }
  return run;
}

function unreadable(runId: string, code: string | undefined): RunFindings {
  return {
    runId,
    outcomes: [],
    findings: [],
    facts: [],
    problems: [{ line: 0, message: `unreadable (${code})` }],
    isComplete: false,
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

type OutcomeTuple = [number, string, string, string];
type FindingTuple = [
  number,
  string,
  string,
  string,
  string,
  string | null,
  FindingStatus,
  FindingRow['value'],
  number | null,
  string | null,
  string,
];
type FactsTuple = [number, string, string, Record<string, unknown>];

interface Summary {
  kind: typeof SUMMARY_KIND;
  version: typeof SUMMARY_VERSION;
  runId: string;
  journal: JournalStamp;
  isComplete: boolean;
  span: RunFindings['span'] | null;
  start: RunFindings['start'] | null;
  outcomes: OutcomeTuple[];
  findings: FindingTuple[];
  facts: FactsTuple[];
  problems: Array<[number, string]>;
}

async function writeSummary(stateDir: string, run: RunFindings, journal: JournalStamp) {
  const summary: Summary = {
    kind: SUMMARY_KIND,
    version: SUMMARY_VERSION,
    runId: run.runId,
    journal: { size: journal.size, mtimeMs: journal.mtimeMs },
    isComplete: run.isComplete,
    span: run.span ?? null,
    start: run.start ?? null,
    outcomes: run.outcomes.map((o) => [o.seq, o.at, o.host, o.status]),
    findings: run.findings.map((f) => [
      f.seq,
      f.at,
      f.host,
      f.action,
      f.check,
      f.subject ?? null,
      f.status,
      f.value,
      f.threshold,
      f.unit ?? null,
      f.message,
    ]),
    facts: run.facts.map((f) => [f.seq, f.at, f.host, f.facts]),
    problems: run.problems.map((p) => [p.line, p.message]),
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
    summary.version !== SUMMARY_VERSION ||
    summary.runId !== runId ||
    summary.journal?.size !== journal.size ||
    summary.journal?.mtimeMs !== journal.mtimeMs
  )
    return undefined;
  return {
    runId,
    ...(summary.start ? { start: summary.start } : {}),
    outcomes: summary.outcomes.map(
      ([seq, at, host, status]): HostOutcomeRow => ({ seq, at, host, status }),
    ),
    findings: summary.findings.map(findingOf),
    facts: summary.facts.map(([seq, at, host, facts]): FactsRow => ({ seq, at, host, facts })),
    problems: summary.problems.map(([line, message]) => ({ line, message })),
    ...(summary.span ? { span: summary.span } : {}),
    isComplete: summary.isComplete,
  };
}

function findingOf(t: FindingTuple): FindingRow {
  const [seq, at, host, action, check, subject, status, value, threshold, unit, message] = t;
  return {
    seq,
    at,
    host,
    action,
    check,
    ...(subject !== null ? { subject } : {}),
    status,
    value,
    threshold,
    ...(unit !== null ? { unit } : {}),
    message,
  };
}
