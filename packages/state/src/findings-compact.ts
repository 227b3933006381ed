import type {
  FactsRow,
  FindingRow,
  FindingStatus,
  FindingsProblem,
  HostOutcomeRow,
  RunFindings,
} from './findings.js';

/**
 * A run's findings in the compact form both backends keep (the files backend's
 * `findings/<runId>.json`, the postgres backend's `opsbook_run_findings.summary`): rows as
 * arrays, not objects. A month of a thousand hosts is 180,000 findings; parsing arrays and
 * building each row once is what keeps `opsbook report` under two seconds.
 */
export interface CompactFindings {
  /** COMPACT_FINDINGS_VERSION: a reader meeting another derives the run again. */
  version: number;
  isComplete: boolean;
  span: RunFindings['span'] | null;
  start: RunFindings['start'] | null;
  outcomes: OutcomeTuple[];
  findings: FindingTuple[];
  facts: FactsTuple[];
  problems: ProblemTuple[];
}

/**
 * 2: kept only when derived from a journal that verifies against the ledger. Version 1 was also
 * kept from a journal read without verifying it (an edited journal's findings could be kept), so
 * a version 1 summary is derived again, once, from its verified journal.
 */
export const COMPACT_FINDINGS_VERSION = 2;

type OutcomeTuple = [seq: number, at: string, host: string, status: string];
type FindingTuple = [
  seq: number,
  at: string,
  host: string,
  action: string,
  check: string,
  subject: string | null,
  status: FindingStatus,
  value: FindingRow['value'],
  threshold: number | null,
  unit: string | null,
  message: string,
];
type FactsTuple = [seq: number, at: string, host: string, facts: Record<string, unknown>];
type ProblemTuple = [line: number, message: string];

export function compactFindings(run: RunFindings): CompactFindings {
  return {
    version: COMPACT_FINDINGS_VERSION,
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
}

/**
 * The run's findings from their compact form. Rows are built field by field, not with
 * spreads: this loop runs once per finding of every report.
 */
export function expandFindings(runId: string, compact: CompactFindings): RunFindings {
  const run: RunFindings = {
    runId,
    outcomes: compact.outcomes.map(outcomeOf),
    findings: compact.findings.map(findingOf),
    facts: compact.facts.map(factsOf),
    problems: compact.problems.map(problemOf),
    isComplete: compact.isComplete,
  };
  if (compact.start) run.start = compact.start;
  if (compact.span) run.span = compact.span;
  return run;
}

function findingOf(t: FindingTuple): FindingRow {
  const row: FindingRow = {
    seq: t[0],
    at: t[1],
    host: t[2],
    action: t[3],
    check: t[4],
    status: t[6],
    value: t[7],
    threshold: t[8],
    message: t[10],
  };
  if (t[5] !== null) row.subject = t[5];
  if (t[9] !== null) row.unit = t[9];
  return row;
}

const outcomeOf = (t: OutcomeTuple): HostOutcomeRow => ({
  seq: t[0],
  at: t[1],
  host: t[2],
  status: t[3],
});
const factsOf = (t: FactsTuple): FactsRow => ({ seq: t[0], at: t[1], host: t[2], facts: t[3] });
const problemOf = (t: ProblemTuple): FindingsProblem => ({ line: t[0], message: t[1] });
