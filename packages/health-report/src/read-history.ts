import {
  type FindingRow,
  filesStore,
  type LeftOutRun,
  type RunFindings,
  type StateStore,
} from '@opsbook/state';
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
  /** Only these hosts (default every host); the others with results are named in `leftOut`. */
  hosts?: readonly string[];
}

/**
 * The history in `range` from a state store's findings (a state dir stands for its files
 * store). The store keeps findings derived only from journals that verify, and derives missing
 * ones the same way: a run whose journal does not verify comes with no findings and is named in
 * `leftOutRuns`. A finding of the wrong shape is skipped and listed in `problems`, so one damaged
 * run never hides the rest.
 */
export async function readHistory(
  from: string | HistorySource,
  range: TimeRange,
  filter: HistoryFilter = {},
): Promise<History> {
  const source = typeof from === 'string' ? filesStore(from) : from;
  const history = emptyHistory();
  const only = filter.hosts ? new Set(filter.hosts) : undefined;
  const leftOut = new Set<string>();
  const leftOutRuns: LeftOutRun[] = [];
  // Every host is read, so that the report can say which ones the filter left out (stores
  // filter hosts in-process too: asking them to would save nothing).
  for await (const run of source.readFindings(range)) {
    if (run.leftOut !== undefined) {
      leftOutRuns.push({ runId: run.runId, reason: run.leftOut });
      continue;
    }
    const kept = only ? keepHosts(run, only, leftOut) : run;
    addRun(history, kept, source.journalLocation(run.runId));
  }
  if (only) history.leftOut = [...leftOut].sort();
  if (leftOutRuns.length > 0) history.leftOutRuns = leftOutRuns;
  return history;
}

/** The run cut to the hosts in `only`; the hosts it had besides are added to `leftOut`. */
function keepHosts(run: RunFindings, only: ReadonlySet<string>, leftOut: Set<string>): RunFindings {
  let isCut = false;
  const check = (host: string) => {
    if (only.has(host)) return;
    isCut = true;
    leftOut.add(host);
  };
  for (const h of run.start?.hosts ?? []) check(h);
  // Rows come host by host: look a host up when it changes, not per row.
  for (const rows of [run.outcomes, run.findings, run.facts]) {
    let last: string | undefined;
    for (const r of rows) {
      if (r.host === last) continue;
      last = r.host;
      check(r.host);
    }
  }
  if (!isCut) return run;
  const keep = (r: { host: string }) => only.has(r.host);
  return {
    ...run,
    ...(run.start
      ? { start: { ...run.start, hosts: run.start.hosts.filter((h) => only.has(h)) } }
      : {}),
    outcomes: run.outcomes.filter(keep),
    findings: run.findings.filter(keep),
    facts: run.facts.filter(keep),
  };
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
