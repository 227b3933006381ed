import type { HostSnapshot } from './finding-snapshot.js';
import type { FindingChange, HealthReport } from './report-schema.js';
import { type ScoreFormula, scoreFindings, severityRank } from './score-formula.js';

/** A host whose score fell by at least this many points is listed as worsening. */
export const WORSENING_POINTS = 5;

/**
 * What changed between the baseline (the state when the previous report was made) and now:
 * findings that became critical, that got worse without becoming critical, that recovered
 * (warn or crit → ok), and hosts whose score fell by WORSENING_POINTS or more.
 */
export function compareSnapshots(
  baseline: Map<string, HostSnapshot>,
  current: Map<string, HostSnapshot>,
  formula: ScoreFormula,
): Omit<HealthReport['changes'], 'baseline'> {
  const newCriticals: FindingChange[] = [];
  const worsened: FindingChange[] = [];
  const recovered: FindingChange[] = [];
  const hostsWorsening: HealthReport['changes']['hostsWorsening'] = [];
  for (const [host, now] of current) {
    const before = baseline.get(host);
    for (const [key, { finding }] of now) {
      const from = before?.get(key)?.finding.status ?? null;
      const to = finding.status;
      const change: FindingChange = {
        host,
        check: finding.check,
        ...(finding.subject !== undefined ? { subject: finding.subject } : {}),
        from,
        to,
        message: finding.message,
      };
      if (to === 'crit' && from !== 'crit') newCriticals.push(change);
      else if (from !== null && severityRank[to] > severityRank[from]) worsened.push(change);
      else if (to === 'ok' && (from === 'warn' || from === 'crit')) recovered.push(change);
    }
    if (!before) continue;
    const was = scoreFindings(
      [...before.values()].map((s) => s.finding),
      formula,
    );
    const is = scoreFindings(
      [...now.values()].map((s) => s.finding),
      formula,
    );
    if (was !== null && is !== null && was - is >= WORSENING_POINTS)
      hostsWorsening.push({ host, from: was, to: is });
  }
  const order = (a: FindingChange, b: FindingChange) =>
    a.host.localeCompare(b.host) ||
    a.check.localeCompare(b.check) ||
    (a.subject ?? '').localeCompare(b.subject ?? '');
  hostsWorsening.sort((a, b) => b.from - b.to - (a.from - a.to) || a.host.localeCompare(b.host));
  return {
    newCriticals: newCriticals.sort(order),
    worsened: worsened.sort(order),
    recovered: recovered.sort(order),
    hostsWorsening,
  };
}
