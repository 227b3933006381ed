import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { emptyHistory, type History, type HostFacts, type ReportedFinding } from './history.js';

export interface TimeRange {
  since: Date;
  until: Date;
}

const STATUSES = new Set(['ok', 'warn', 'crit', 'unknown']);

/**
 * Reads `<stateDir>/runs/*.jsonl` and keeps the events whose time falls in `range`. It verifies
 * nothing (that is `opsbook journal verify`): a line that does not parse, or a result of the
 * wrong shape, is skipped and listed in `problems`, so one damaged file never hides the rest.
 */
export async function readHistory(stateDir: string, range: TimeRange): Promise<History> {
  const history = emptyHistory();
  const dir = path.join(stateDir, 'runs');
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT')
      history.problems.push({ file: dir, line: 0, message: `cannot list runs (${code})` });
    return history;
  }
  for (const name of names) {
    const file = path.join(dir, name);
    let text: string;
    try {
      // A journal last written before the range starts holds nothing in it.
      if ((await stat(file)).mtime < range.since) continue;
      text = await readFile(file, 'utf8');
    } catch (e) {
      history.problems.push({
        file,
        line: 0,
        message: `unreadable (${(e as NodeJS.ErrnoException).code})`,
      });
      continue;
    }
    collectEvents(file, name.slice(0, -'.jsonl'.length), text, range, history);
  }
  return history;
}

/** Adds the in-range events of one journal's text to `history`. Pure; exported for tests. */
export function collectEvents(
  file: string,
  runId: string,
  text: string,
  range: TimeRange,
  history: History,
): void {
  const lines = text.split('\n');
  const since = range.since.toISOString();
  const until = range.until.toISOString();
  let bad = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(raw) as Record<string, unknown>;
      if (event === null || typeof event !== 'object' || Array.isArray(event))
        throw new Error('not an object');
    } catch {
      bad++;
      // One problem per bad line would let a garbage file flood the report; the first three say enough.
      if (bad <= 3)
        history.problems.push({ file, line: i + 1, message: 'not a JSON event; line skipped' });
      continue;
    }
    const at = typeof event.at === 'string' ? normalizeTime(event.at) : undefined;
    if (at === undefined || at < since || at > until) continue;
    addEvent(event, { at, runId, file, line: i + 1 }, history);
  }
  if (bad > 3)
    history.problems.push({
      file,
      line: 0,
      message: `${bad} lines in all were not JSON events and were skipped`,
    });
}

// The journal writes toISOString(); only other spellings need the cost of parsing.
const CANONICAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function normalizeTime(at: string): string | undefined {
  if (CANONICAL_TIME.test(at)) return at;
  const t = Date.parse(at);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** Where an event was read (journal file and line), and its run and time. */
interface EventOrigin {
  at: string;
  runId: string;
  file: string;
  line: number;
}

function addEvent(event: Record<string, unknown>, origin: EventOrigin, history: History): void {
  const { at, runId } = origin;
  const host = typeof event.host === 'string' ? event.host : undefined;
  switch (event.type) {
    case 'run-start': {
      const runbook = event.runbook as { name?: unknown } | undefined;
      const hosts = Array.isArray(event.hosts)
        ? event.hosts.filter((h): h is string => typeof h === 'string')
        : [];
      history.runs.push({
        runId: typeof event.runId === 'string' ? event.runId : runId,
        startedAt: at,
        ...(typeof runbook?.name === 'string' ? { runbook: runbook.name } : {}),
        hosts,
      });
      return;
    }
    case 'host-end':
      if (host && typeof event.status === 'string')
        history.outcomes.push({ at, runId, host, status: event.status });
      return;
    case 'step-end':
      if (host && typeof event.uses === 'string')
        addResult(event, event.uses, host, origin, history);
      return;
  }
}

function addResult(
  event: Record<string, unknown>,
  action: string,
  host: string,
  origin: EventOrigin,
  history: History,
): void {
  const { at, runId, file, line } = origin;
  const result = event.result as Record<string, unknown> | undefined;
  if (result === null || typeof result !== 'object') return;
  if (action.startsWith('inspection.')) {
    if (!Array.isArray(result.findings)) return;
    const findings = result.findings.filter(isFinding);
    if (findings.length < result.findings.length) {
      history.problems.push({
        file,
        line,
        message: `${result.findings.length - findings.length} finding(s) of ${action} on ${host} have the wrong shape; skipped`,
      });
    }
    history.inspections.push({ at, runId, host, action, findings });
  } else if (action === 'inventory.collect') {
    const facts = result.facts;
    if (facts !== null && typeof facts === 'object' && !Array.isArray(facts)) {
      history.facts.push({ at, runId, host, facts: facts as HostFacts });
    }
  }
}

function isFinding(f: unknown): f is ReportedFinding {
  if (f === null || typeof f !== 'object' || Array.isArray(f)) return false;
  const x = f as Record<string, unknown>;
  const isValue = x.value === null || ['number', 'string', 'boolean'].includes(typeof x.value);
  return (
    typeof x.host === 'string' &&
    typeof x.check === 'string' &&
    typeof x.status === 'string' &&
    STATUSES.has(x.status) &&
    typeof x.message === 'string' &&
    isValue &&
    (x.threshold === undefined || x.threshold === null || typeof x.threshold === 'number') &&
    (x.subject === undefined || typeof x.subject === 'string') &&
    (x.unit === undefined || typeof x.unit === 'string')
  );
}
