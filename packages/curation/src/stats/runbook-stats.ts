import type { JournalLine, RunSummary } from '@opsbook/state';
import { type HistoryStore, type LeftOutRun, readVerifiedRuns } from '../history/verified-runs.js';

/**
 * Usage statistics of the runbook library from the run history: per runbook and version, how
 * often it ran, how often it failed, how long it took, how often it rolled back and which steps
 * fail most; and which runbooks of the catalog nobody ran lately. The input of the experts'
 * periodic review. Read from any state store (files or PostgreSQL); every journal is verified
 * against what the store pinned at its end, and one that does not verify is left out and named.
 *
 * The journal events read (as the runner writes them):
 *   step-end: {host, phase, step, status: ok|failed|timeout|error, durationMs}
 *   host-end: {host, status, rolledBack?}
 */

/** How the runs of one runbook version ended. */
export interface RunOutcomes {
  ok: number;
  failed: number;
  unreachable: number;
  interrupted: number;
  /** No run-end yet: still running, or the runner was killed. */
  incomplete: number;
}

export interface FailedStep {
  phase: string;
  step: string;
  /** Step-ends that did not end ok (one per host), timeouts included. */
  failures: number;
  timeouts: number;
  /** Runs in which the step failed on at least one host. */
  runs: number;
}

export interface RunbookVersionStats {
  runbook: string;
  version: string;
  runs: number;
  outcomes: RunOutcomes;
  /** failed ÷ ended runs (ok, failed, unreachable, interrupted); null with no ended run. */
  failureRate: number | null;
  /** Wall time of the ended runs, run-start to run-end (nearest-rank percentiles). */
  durationMs: { p50: number; p90: number; max: number } | null;
  rollbacks: { runs: number; hosts: number };
  /** The steps that failed, most failures first (at most `STEPS_SHOWN`). */
  failedSteps: FailedStep[];
  firstRunAt: string;
  lastRunAt: string;
}

export interface IdleRunbook {
  runbook: string;
  /** Its newest run in the whole history, or null when it never ran. */
  lastRunAt: string | null;
}

export interface RunbookStats {
  kind: 'RunbookStats';
  version: 1;
  generatedAt: string;
  range: { since: string; until: string };
  /** Catalog runbooks with no run since this time are listed in `idle`. */
  idleSince: string;
  store: { kind: string; location: string };
  totals: { runs: number; runbooks: number; failed: number; rolledBack: number };
  runbooks: RunbookVersionStats[];
  idle: IdleRunbook[];
  /** Runs left out: their journal is missing, unreadable or does not verify. */
  leftOut: LeftOutRun[];
}

export interface StatsRequest {
  store: HistoryStore;
  since: Date;
  until: Date;
  /** Only this runbook. */
  runbook?: string;
  /** The runbook names of the catalog, for `idle`. */
  catalog: readonly string[];
  idleSince: Date;
  now?: Date;
}

export const STEPS_SHOWN = 5;

/** A run as the statistics read it: its summary and the events they need of its journal. */
export interface RunFacts {
  summary: RunSummary;
  steps: Array<{ phase: string; step: string; status: string }>;
  rolledBackHosts: number;
}

export async function buildRunbookStats(request: StatsRequest): Promise<RunbookStats> {
  const { store } = request;
  const all = await store.listRuns();
  const since = request.since.toISOString();
  const until = request.until.toISOString();
  const inRange = all.filter(
    (r) =>
      r.startedAt !== undefined &&
      r.startedAt >= since &&
      r.startedAt <= until &&
      (request.runbook === undefined || r.runbook === request.runbook),
  );
  const { runs: facts, leftOut } = await readVerifiedRuns(store, inRange, runFactsOf);
  const runbooks = computeVersionStats(facts);
  return {
    kind: 'RunbookStats',
    version: 1,
    generatedAt: (request.now ?? new Date()).toISOString(),
    range: { since, until },
    idleSince: request.idleSince.toISOString(),
    store: { kind: store.kind, location: store.location },
    totals: {
      runs: facts.length,
      runbooks: new Set(runbooks.map((r) => r.runbook)).size,
      failed: runbooks.reduce((n, r) => n + r.outcomes.failed, 0),
      rolledBack: runbooks.reduce((n, r) => n + r.rollbacks.runs, 0),
    },
    runbooks,
    idle: idleRunbooks(all, request),
    leftOut,
  };
}

/** What the statistics need of a verified journal: its step-ends and rolled-back hosts. */
function runFactsOf(summary: RunSummary, events: readonly JournalLine[]): RunFacts {
  const steps: RunFacts['steps'] = [];
  let rolledBackHosts = 0;
  for (const e of events as ReadonlyArray<Record<string, unknown>>) {
    if (e.type === 'step-end' && typeof e.step === 'string')
      steps.push({ phase: String(e.phase ?? ''), step: e.step, status: String(e.status ?? '') });
    else if (e.type === 'host-end' && e.rolledBack === true) rolledBackHosts++;
  }
  return { summary, steps, rolledBackHosts };
}

/** The statistics of each runbook version, by runbook name then newest version first. Pure. */
export function computeVersionStats(runs: readonly RunFacts[]): RunbookVersionStats[] {
  const groups = new Map<string, RunFacts[]>();
  for (const run of runs) {
    const key = `${run.summary.runbook}\u0000${run.summary.version ?? '?'}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  const stats = [...groups.values()].map(versionStats);
  return stats.sort(
    (a, b) =>
      (a.runbook < b.runbook ? -1 : a.runbook > b.runbook ? 1 : 0) ||
      compareVersions(b.version, a.version),
  );
}

function versionStats(runs: readonly RunFacts[]): RunbookVersionStats {
  const first = runs[0]!.summary;
  const outcomes: RunOutcomes = { ok: 0, failed: 0, unreachable: 0, interrupted: 0, incomplete: 0 };
  const durations: number[] = [];
  const steps = new Map<string, FailedStep>();
  const rollbacks = { runs: 0, hosts: 0 };
  const times: string[] = [];
  for (const { summary, steps: ended, rolledBackHosts } of runs) {
    const status =
      summary.status in outcomes ? (summary.status as keyof RunOutcomes) : 'incomplete';
    outcomes[status]++;
    if (summary.startedAt) times.push(summary.startedAt);
    if (status !== 'incomplete' && summary.startedAt && summary.endedAt)
      durations.push(Date.parse(summary.endedAt) - Date.parse(summary.startedAt));
    if (rolledBackHosts > 0) {
      rollbacks.runs++;
      rollbacks.hosts += rolledBackHosts;
    }
    const failedHere = new Set<string>();
    for (const s of ended) {
      if (s.status === 'ok') continue;
      const key = `${s.phase}.${s.step}`;
      const entry = steps.get(key) ?? {
        phase: s.phase,
        step: s.step,
        failures: 0,
        timeouts: 0,
        runs: 0,
      };
      entry.failures++;
      if (s.status === 'timeout') entry.timeouts++;
      if (!failedHere.has(key)) entry.runs++;
      failedHere.add(key);
      steps.set(key, entry);
    }
  }
  const ended = runs.length - outcomes.incomplete;
  times.sort();
  return {
    runbook: first.runbook!,
    version: first.version ?? '?',
    runs: runs.length,
    outcomes,
    failureRate: ended > 0 ? outcomes.failed / ended : null,
    durationMs: durations.length
      ? {
          p50: percentile(durations, 0.5),
          p90: percentile(durations, 0.9),
          max: Math.max(...durations),
        }
      : null,
    rollbacks,
    failedSteps: [...steps.values()]
      .sort((a, b) => b.failures - a.failures || b.runs - a.runs || (a.step < b.step ? -1 : 1))
      .slice(0, STEPS_SHOWN),
    firstRunAt: times[0] ?? '',
    lastRunAt: times[times.length - 1] ?? '',
  };
}

/** Nearest-rank percentile: the smallest value with at least `q` of the values at or below it. */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

/** Catalog runbooks whose newest run (of any version, in the whole history) is older than `idleSince`. */
function idleRunbooks(all: readonly RunSummary[], request: StatsRequest): IdleRunbook[] {
  const last = new Map<string, string>();
  for (const r of all)
    if (r.runbook && r.startedAt && r.startedAt > (last.get(r.runbook) ?? ''))
      last.set(r.runbook, r.startedAt);
  const idleSince = request.idleSince.toISOString();
  return request.catalog
    .filter((name) => request.runbook === undefined || name === request.runbook)
    .filter((name) => (last.get(name) ?? '') < idleSince)
    .sort()
    .map((runbook) => ({ runbook, lastRunAt: last.get(runbook) ?? null }));
}

/** Semantic versions compared by their numbers (a pre-release before its release). */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => {
    const [core = '', pre] = v.split(/-(.*)/s);
    return { nums: core.split('.').map((n) => Number(n) || 0), pre };
  };
  const x = parts(a);
  const y = parts(b);
  for (let i = 0; i < Math.max(x.nums.length, y.nums.length); i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d) return d;
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre < y.pre ? -1 : 1;
}
