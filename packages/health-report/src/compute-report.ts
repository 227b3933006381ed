import {
  buildSnapshots,
  type FindingSnapshots,
  type HostSnapshot,
  sortSamples,
} from './finding-snapshot.js';
import { defaultFitRule, type FitRule, headroomOfSeries } from './headroom.js';
import type { History, ReportedFinding } from './history.js';
import { compareSnapshots } from './report-changes.js';
import { describeHeadline, URGENT_DAYS } from './report-headline.js';
import { describeNotes } from './report-notes.js';
import type {
  GroupHealth,
  HealthReport,
  HostHealth,
  ReportFinding,
  StatusCounts,
  TopOffender,
  TrendPoint,
} from './report-schema.js';
import { describeCharts } from './resource-charts.js';
import {
  defaultFormula,
  meanScore,
  type ScoreFormula,
  scoreFindings,
  severityRank,
} from './score-formula.js';
import { collectUsageSeries } from './usage-series.js';
import { dayBefore, endOfDay, utcDay } from './utc-day.js';

export interface ReportOptions {
  range: { since: Date; until: Date };
  /** When the report is made (its `generatedAt`). */
  now: Date;
  /** host → its inventory groups; hosts without an entry belong to no group. */
  inventory?: Readonly<Record<string, readonly string[]>>;
  formula?: ScoreFormula;
  /** When the previous report was made; default the end of the day before the newest data. */
  previousReportAt?: Date;
  /** How many hosts `topOffenders` lists; default 10. */
  topOffenders?: number;
  /** A resource predicted full in fewer days than this makes the report urgent; default 14. */
  urgentDays?: number;
  /** When a headroom fit is meaningful enough to project; default `defaultFitRule`. */
  fitRule?: FitRule;
  /**
   * The hosts the report was asked for and how they were chosen (an inventory, a pattern):
   * `hosts` with no run in the range are named in `scope.noRuns`. Without it every host in the
   * history is reported.
   */
  selection?: { description: string; hosts: readonly string[] };
}

/** The whole report, from history alone: pure, so every number in it can be tested by hand. */
export function computeReport(history: History, options: ReportOptions): HealthReport {
  const formula = options.formula ?? defaultFormula;
  const sorted = sortSamples(history.inspections);
  const days = [...new Set(sorted.map((s) => utcDay(s.at)))].sort();
  const baselineAt =
    options.previousReportAt?.toISOString() ??
    (days.length > 1 ? endOfDay(dayBefore(days.at(-1)!)) : null);
  const hasBaseline = baselineAt !== null && sorted.length > 0 && sorted[0]!.at <= baselineAt;
  const snapshots = buildSnapshots(sorted, hasBaseline ? baselineAt : undefined);
  const daily = scoreDays(snapshots, days, formula);
  const hosts = describeHosts(history, snapshots, days, daily, options.inventory ?? {}, formula);
  const current = [...snapshots.current.values()].flatMap((snap) => [...snap.values()]);
  const findings = current.map(({ finding, at }) => toRow(finding, at)).sort(worstFirst);
  const changes =
    hasBaseline && snapshots.baseline
      ? {
          baseline: baselineAt,
          ...compareSnapshots(snapshots.baseline, snapshots.current, formula),
        }
      : { baseline: null, newCriticals: [], worsened: [], recovered: [], hostsWorsening: [] };
  const unknownOnly = [...snapshots.onlyUnknown].flatMap(([host, keys]) =>
    [...keys]
      .filter(([, only]) => only)
      .map(([key]) => {
        const [check, subject] = key.split('\u0000') as [string, string];
        return { host, check, ...(subject ? { subject } : {}) };
      }),
  );
  const usage = collectUsageSeries(sorted, history.facts);
  const fitRule = options.fitRule ?? defaultFitRule;
  const report: HealthReport = {
    kind: 'HealthReport',
    version: 2,
    generatedAt: options.now.toISOString(),
    headline: {
      status: 'no-data',
      text: '',
      urgentDays: options.urgentDays ?? URGENT_DAYS,
      urgent: [],
    },
    range: { since: options.range.since.toISOString(), until: options.range.until.toISOString() },
    scope: describeScope(history, hosts, options.selection),
    formula: { ...formula, checkWeights: { ...formula.checkWeights } },
    days,
    environment: {
      score: meanScore(hosts.map((h) => h.score)),
      hosts: hosts.length,
      reporting: hosts.filter((h) => h.state === 'reporting').length,
      unreachable: hosts.filter((h) => h.state === 'unreachable').length,
      noData: hosts.filter((h) => h.state === 'no-data').length,
      counts: countStatuses(findings),
    },
    groups: describeGroups(hosts, days.length),
    hosts,
    trend: describeTrend(daily, days),
    changes,
    topOffenders: findOffenders(hosts, snapshots.current, options.topOffenders ?? 10),
    fitRule: { ...fitRule },
    headroom: headroomOfSeries(usage, fitRule),
    charts: { rule: '', candidates: 0, hosts: [] },
    findings,
    unknownOnly,
    notes: [],
    problems: history.problems,
    leftOutRuns: [...(history.leftOutRuns ?? [])],
  };
  report.headline = describeHeadline(report, report.headline.urgentDays);
  report.charts = describeCharts(report, usage);
  report.notes = describeNotes(report);
  return report;
}

function describeScope(
  history: History,
  hosts: readonly HostHealth[],
  selection: ReportOptions['selection'],
): HealthReport['scope'] {
  const seen = new Set(hosts.map((h) => h.host));
  return {
    selection: selection?.description ?? null,
    leftOut: [...(history.leftOut ?? [])].sort(),
    noRuns: selection ? selection.hosts.filter((h) => !seen.has(h)).sort() : [],
  };
}

function describeHosts(
  history: History,
  snapshots: FindingSnapshots,
  days: readonly string[],
  daily: DailyScores,
  inventory: Readonly<Record<string, readonly string[]>>,
  formula: ScoreFormula,
): HostHealth[] {
  const names = new Set<string>([...snapshots.current.keys()]);
  for (const run of history.runs) for (const h of run.hosts) names.add(h);
  for (const o of history.outcomes) names.add(o.host);
  const lastOutcome = new Map<string, { at: string; status: string }>();
  const answered = new Set<string>();
  for (const o of history.outcomes) {
    const seen = lastOutcome.get(o.host);
    if (!seen || o.at >= seen.at) lastOutcome.set(o.host, o);
    if (o.status !== 'unreachable') answered.add(o.host);
  }
  return [...names].sort().map((host): HostHealth => {
    const snap = snapshots.current.get(host);
    const rows = snap ? [...snap.values()] : [];
    const byDay = daily.get(host);
    const state = snap ? 'reporting' : answered.has(host) ? 'no-data' : 'unreachable';
    const last = lastOutcome.get(host);
    return {
      host,
      groups: [...(inventory[host] ?? [])],
      state,
      score: scoreFindings(
        rows.map((r) => r.finding),
        formula,
      ),
      lastSeen: rows.reduce<string | null>((m, r) => (m === null || r.at > m ? r.at : m), null),
      answeredLastRun: last ? last.status !== 'unreachable' : state === 'reporting',
      counts: countStatuses(rows.map((r) => r.finding)),
      daily: byDay ? byDay.map((d) => d?.score ?? null) : days.map(() => null),
    };
  });
}

function describeGroups(hosts: readonly HostHealth[], dayCount: number): GroupHealth[] {
  const members = new Map<string, HostHealth[]>();
  for (const h of hosts)
    for (const g of h.groups) (members.get(g) ?? members.set(g, []).get(g)!).push(h);
  return [...members]
    .map(([group, list]) => ({
      group,
      score: meanScore(list.map((h) => h.score)),
      hosts: list.length,
      reporting: list.filter((h) => h.state === 'reporting').length,
      daily: Array.from({ length: dayCount }, (_, i) =>
        meanScore(list.map((h) => h.daily[i] ?? null)),
      ),
    }))
    .sort((a, b) => (a.score ?? 101) - (b.score ?? 101) || a.group.localeCompare(b.group));
}

/** Per host, per day of the report: the score and counts of its snapshot that day, if any. */
type DailyScores = Map<string, Array<DayScore | undefined>>;
interface DayScore {
  score: number | null;
  counts: StatusCounts;
}

/** Each host's daily snapshots scored once, for its daily scores and for the trend. */
function scoreDays(
  snapshots: FindingSnapshots,
  days: readonly string[],
  formula: ScoreFormula,
): DailyScores {
  const scores = new Map<string, Array<DayScore | undefined>>();
  for (const [host, byDay] of snapshots.daily) {
    scores.set(
      host,
      days.map((day) => {
        const snap = byDay.get(day);
        if (!snap) return undefined;
        const list = [...snap.values()];
        return { score: scoreFindings(list, formula), counts: countStatuses(list) };
      }),
    );
  }
  return scores;
}

function describeTrend(daily: DailyScores, days: readonly string[]): TrendPoint[] {
  return days.map((day, i) => {
    const scores: Array<number | null> = [];
    const counts = { ok: 0, warn: 0, crit: 0, unknown: 0 };
    for (const byDay of daily.values()) {
      const d = byDay[i];
      if (!d) continue;
      scores.push(d.score);
      counts.ok += d.counts.ok;
      counts.warn += d.counts.warn;
      counts.crit += d.counts.crit;
      counts.unknown += d.counts.unknown;
    }
    return { day, score: meanScore(scores), reporting: scores.length, counts };
  });
}

function findOffenders(
  hosts: readonly HostHealth[],
  current: Map<string, HostSnapshot>,
  limit: number,
): TopOffender[] {
  return hosts
    .filter((h): h is HostHealth & { score: number } => h.score !== null && h.score < 100)
    .sort(
      (a, b) => a.score - b.score || b.counts.crit - a.counts.crit || a.host.localeCompare(b.host),
    )
    .slice(0, limit)
    .map((h) => ({
      host: h.host,
      score: h.score,
      counts: h.counts,
      worst: [...(current.get(h.host)?.values() ?? [])]
        .map((r) => r.finding)
        .filter((f) => f.status !== 'ok')
        .sort((a, b) => severityRank[b.status] - severityRank[a.status])
        .slice(0, 3)
        .map(
          (f) =>
            `${f.status.toUpperCase()} ${f.check}${f.subject ? ` ${f.subject}` : ''}: ${f.message}`,
        ),
    }));
}

export function countStatuses(findings: Iterable<{ status: keyof StatusCounts }>): StatusCounts {
  const counts = { ok: 0, warn: 0, crit: 0, unknown: 0 };
  for (const f of findings) counts[f.status]++;
  return counts;
}

function toRow(f: ReportedFinding, at: string): ReportFinding {
  return {
    host: f.host,
    check: f.check,
    ...(f.subject !== undefined ? { subject: f.subject } : {}),
    status: f.status,
    value: f.value,
    threshold: typeof f.threshold === 'number' ? f.threshold : null,
    ...(f.unit !== undefined ? { unit: f.unit } : {}),
    message: f.message,
    at,
  };
}

function worstFirst(a: ReportFinding, b: ReportFinding): number {
  return (
    severityRank[b.status] - severityRank[a.status] ||
    a.host.localeCompare(b.host) ||
    a.check.localeCompare(b.check) ||
    (a.subject ?? '').localeCompare(b.subject ?? '')
  );
}
