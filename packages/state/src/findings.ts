/**
 * A run's findings: what reports read of a run, derived from its journal's events (the journal
 * stays the source of truth; these rows are kept so a report over months need not parse every
 * journal again). Read structurally, because journals written by other versions must still
 * read: a finding of the wrong shape is skipped and listed in `problems`.
 *
 * The journal events read are
 *   run-start: {hosts: string[], runbook: {name}}
 *   host-end:  {host, status}
 *   step-end:  {host, uses: 'inspection.*', result: {findings: Finding[]}}
 *   step-end:  {host, uses: 'inventory.collect', result: {facts: {…}}}
 */

export type FindingStatus = 'ok' | 'warn' | 'crit' | 'unknown';
export const findingStatuses: readonly FindingStatus[] = ['ok', 'warn', 'crit', 'unknown'];

/** One finding of an `inspection.*` step, at the time its step ended. */
export interface FindingRow {
  /** The step-end's place in the journal: the findings of one step share it. */
  seq: number;
  at: string;
  /** The host the journal ran the step on (a finding cannot speak for another host). */
  host: string;
  /** The step's action (`uses:`), e.g. `inspection.disk`. */
  action: string;
  check: string;
  subject?: string;
  status: FindingStatus;
  value: number | string | boolean | null;
  threshold: number | null;
  unit?: string;
  message: string;
}

/** The facts an `inventory.collect` step gathered on one host. */
export interface FactsRow {
  seq: number;
  at: string;
  host: string;
  facts: Record<string, unknown>;
}

/** How a host's part of a run ended (host-end): `unreachable` means it never answered. */
export interface HostOutcomeRow {
  seq: number;
  at: string;
  host: string;
  status: string;
}

/** A journal line the findings could not be read from; `line` 0 is the journal as a whole. */
export interface FindingsProblem {
  line: number;
  message: string;
}

export interface RunFindings {
  runId: string;
  /** From run-start: when, which runbook, and the hosts the run was for. */
  start?: { at: string; runbook?: string; hosts: string[] };
  outcomes: HostOutcomeRow[];
  findings: FindingRow[];
  facts: FactsRow[];
  problems: FindingsProblem[];
  /** The times of the journal's first and last events (absent when none has a time). */
  span?: { from: string; to: string };
  /** Whether the journal ends with run-end: only then are the findings final. */
  isComplete: boolean;
  /**
   * Why the run has no findings to count: its journal does not verify (verified-findings.ts).
   * Readers leave the run out and name it; it is never kept.
   */
  leftOut?: string;
}

export interface FindingsQuery {
  since: Date;
  until: Date;
  /** Only these hosts (default every host). */
  hosts?: readonly string[];
}

/** Derives a run's findings from its journal's text (JSONL). Pure. */
export function findingsOfJournalText(runId: string, text: string): RunFindings {
  const run = emptyRunFindings(runId);
  const lines = text.split('\n');
  let bad = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    let event: unknown;
    try {
      event = JSON.parse(raw);
    } catch {
      event = undefined;
    }
    if (event === null || typeof event !== 'object' || Array.isArray(event)) {
      bad++;
      // One problem per bad line would let a garbage file flood a report; three say enough.
      if (bad <= 3) run.problems.push({ line: i + 1, message: 'not a JSON event; line skipped' });
      continue;
    }
    addEvent(run, event as Record<string, unknown>, i + 1);
  }
  if (bad > 3)
    run.problems.push({
      line: 0,
      message: `${bad} lines in all were not JSON events and were skipped`,
    });
  return run;
}

/** Derives a run's findings from its parsed events, in journal order (line = index + 1). Pure. */
export function findingsOfEvents(
  runId: string,
  events: Iterable<Record<string, unknown>>,
): RunFindings {
  const run = emptyRunFindings(runId);
  let line = 0;
  for (const event of events) addEvent(run, event, ++line);
  return run;
}

export function emptyRunFindings(runId: string): RunFindings {
  return { runId, outcomes: [], findings: [], facts: [], problems: [], isComplete: false };
}

/**
 * The part of a run's findings a query asks for: rows whose time is in [since, until] (and of
 * its hosts); undefined when the run has nothing in the range. Its problems come along whenever
 * the run overlaps the range (or has no time at all), so a damaged journal is never hidden.
 */
export function selectFindings(run: RunFindings, query: FindingsQuery): RunFindings | undefined {
  // Its times cannot be believed either: named whenever the store found it near the range.
  if (run.leftOut !== undefined) return run;
  const since = query.since.toISOString();
  const until = query.until.toISOString();
  if (run.span && (run.span.to < since || run.span.from > until)) return undefined;
  // Wholly in the range, every host: nothing to cut (the common case of a report).
  if (run.span && !query.hosts && run.span.from >= since && run.span.to <= until) return run;
  const only = query.hosts ? new Set(query.hosts) : undefined;
  const keep = (row: { at: string; host: string }) =>
    row.at >= since && row.at <= until && (!only || only.has(row.host));
  const start =
    run.start && run.start.at >= since && run.start.at <= until
      ? { ...run.start, hosts: only ? run.start.hosts.filter((h) => only.has(h)) : run.start.hosts }
      : undefined;
  return {
    runId: run.runId,
    ...(start ? { start } : {}),
    outcomes: run.outcomes.filter(keep),
    findings: run.findings.filter(keep),
    facts: run.facts.filter(keep),
    problems: run.problems,
    ...(run.span ? { span: run.span } : {}),
    isComplete: run.isComplete,
  };
}

// The journal writes toISOString(); only other spellings need the cost of parsing.
const CANONICAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function normalizeTime(at: unknown): string | undefined {
  if (typeof at !== 'string') return undefined;
  if (CANONICAL_TIME.test(at)) return at;
  const t = Date.parse(at);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

function addEvent(run: RunFindings, event: Record<string, unknown>, line: number): void {
  if (event.type === 'run-end') run.isComplete = true;
  const at = normalizeTime(event.at);
  if (at === undefined) return;
  if (!run.span) run.span = { from: at, to: at };
  else if (at < run.span.from) run.span.from = at;
  else if (at > run.span.to) run.span.to = at;
  const seq = typeof event.seq === 'number' ? event.seq : line;
  const host = typeof event.host === 'string' ? event.host : undefined;
  switch (event.type) {
    case 'run-start': {
      const runbook = (event.runbook as { name?: unknown } | undefined)?.name;
      const hosts = Array.isArray(event.hosts)
        ? event.hosts.filter((h): h is string => typeof h === 'string')
        : [];
      run.start = { at, ...(typeof runbook === 'string' ? { runbook } : {}), hosts };
      return;
    }
    case 'host-end':
      if (host && typeof event.status === 'string')
        run.outcomes.push({ seq, at, host, status: event.status });
      return;
    case 'step-end':
      if (host && typeof event.uses === 'string')
        addResult(run, event, { seq, at, host, action: event.uses, line });
      return;
  }
}

interface StepOrigin {
  seq: number;
  at: string;
  host: string;
  action: string;
  line: number;
}

function addResult(run: RunFindings, event: Record<string, unknown>, step: StepOrigin): void {
  const result = event.result as Record<string, unknown> | undefined;
  if (result === null || typeof result !== 'object') return;
  const { seq, at, host, action } = step;
  if (action.startsWith('inspection.')) {
    if (!Array.isArray(result.findings)) return;
    let wrong = 0;
    for (const f of result.findings) {
      if (isFinding(f)) run.findings.push(rowOf(f, step));
      else wrong++;
    }
    if (wrong > 0)
      run.problems.push({
        line: step.line,
        message: `${wrong} finding(s) of ${action} on ${host} have the wrong shape; skipped`,
      });
  } else if (action === 'inventory.collect') {
    const facts = result.facts;
    if (facts !== null && typeof facts === 'object' && !Array.isArray(facts))
      run.facts.push({ seq, at, host, facts: facts as Record<string, unknown> });
  }
}

function rowOf(f: JournaledFinding, step: StepOrigin): FindingRow {
  return {
    seq: step.seq,
    at: step.at,
    host: step.host,
    action: step.action,
    check: f.check,
    ...(f.subject !== undefined ? { subject: f.subject } : {}),
    status: f.status,
    value: f.value,
    threshold: typeof f.threshold === 'number' ? f.threshold : null,
    ...(f.unit !== undefined ? { unit: f.unit } : {}),
    message: f.message,
  };
}

/** A finding as `inspection.*` actions journal it (see @opsbook/inspection's findingSchema). */
interface JournaledFinding {
  check: string;
  subject?: string;
  status: FindingStatus;
  value: number | string | boolean | null;
  threshold?: number | null;
  unit?: string;
  message: string;
}

function isFinding(f: unknown): f is JournaledFinding {
  if (f === null || typeof f !== 'object' || Array.isArray(f)) return false;
  const x = f as Record<string, unknown>;
  const isValue = x.value === null || ['number', 'string', 'boolean'].includes(typeof x.value);
  return (
    typeof x.host === 'string' &&
    typeof x.check === 'string' &&
    typeof x.status === 'string' &&
    (findingStatuses as readonly string[]).includes(x.status) &&
    typeof x.message === 'string' &&
    isValue &&
    (x.threshold === undefined || x.threshold === null || typeof x.threshold === 'number') &&
    (x.subject === undefined || typeof x.subject === 'string') &&
    (x.unit === undefined || typeof x.unit === 'string')
  );
}
