import { type FindingRow, filesStore, type RunFindings, type StateStore } from '@opsbook/state';
import {
  emptyHistory,
  type History,
  type InspectionSample,
  type ReportedFinding,
} from './history.js';

export interface TimeRange {
  since: Date;
  until: Date;
}

/** What the report reads of a state store: its findings, and where a run's journal is. */
export type HistorySource = Pick<StateStore, 'readFindings' | 'journalLocation'>;

export interface HistoryFilter {
  /** Only these hosts (default every host). */
  hosts?: readonly string[];
}

/**
 * The history in `range` from a state store's findings (a state dir stands for its files
 * store). It verifies nothing (that is `opsbook journal verify`): a journal line that does not
 * parse, or a finding of the wrong shape, is skipped and listed in `problems`, so one damaged
 * journal never hides the rest.
 */
export async function readHistory(
  from: string | HistorySource,
  range: TimeRange,
  filter: HistoryFilter = {},
): Promise<History> {
  const source = typeof from === 'string' ? filesStore(from) : from;
  const history = emptyHistory();
  for await (const run of source.readFindings({
    ...range,
    ...(filter.hosts ? { hosts: filter.hosts } : {}),
  })) {
    addRun(history, run, source.journalLocation(run.runId));
  }
  return history;
}

/** Adds one run's findings to `history`. Pure; exported for tests. */
export function addRun(history: History, run: RunFindings, file: string): void {
  const { runId } = run;
  if (run.start) {
    history.runs.push({
      runId,
      startedAt: run.start.at,
      ...(run.start.runbook !== undefined ? { runbook: run.start.runbook } : {}),
      hosts: run.start.hosts,
    });
  }
  for (const o of run.outcomes)
    history.outcomes.push({ at: o.at, runId, host: o.host, status: o.status });
  // Rows of one step share its seq: together they are one inspection sample.
  let sample: InspectionSample | undefined;
  let seq = -1;
  for (const f of run.findings) {
    if (!sample || f.seq !== seq) {
      seq = f.seq;
      sample = { at: f.at, runId, host: f.host, action: f.action, findings: [] };
      history.inspections.push(sample);
    }
    sample.findings.push(reportedFinding(f));
  }
  for (const f of run.facts) history.facts.push({ at: f.at, runId, host: f.host, facts: f.facts });
  for (const p of run.problems) history.problems.push({ file, line: p.line, message: p.message });
}

/** Built field by field, not with spreads: this runs once per finding of every report. */
function reportedFinding(f: FindingRow): ReportedFinding {
  const finding: ReportedFinding = {
    host: f.host,
    check: f.check,
    status: f.status,
    value: f.value,
    threshold: f.threshold,
    message: f.message,
  };
  if (f.subject !== undefined) finding.subject = f.subject;
  if (f.unit !== undefined) finding.unit = f.unit;
  return finding;
}
