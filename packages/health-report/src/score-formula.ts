import type { ReportedFinding } from './history.js';
import type { FindingStatus } from './report-schema.js';

/**
 * How a set of findings becomes a score from 0 to 100 (see README, "Score formula"):
 *
 *   score = 100 × Σ_c w(c) · f(worst status of check c) / Σ_c w(c)
 *
 * over the checks c that reported, where w is the check's weight and f the severity factor.
 * A check that yields several findings (one per mount, unit, port) counts once, at its worst
 * subject, so a host with ten mounts is not ten times as exposed to one check.
 */
export interface ScoreFormula {
  severityFactors: Record<FindingStatus, number>;
  /** Weight per check name (`inspection.disk`); a check not listed weighs `defaultWeight`. */
  checkWeights: Record<string, number>;
  defaultWeight: number;
}

export const defaultFormula: ScoreFormula = {
  // unknown is above warn: nothing was measured, which is a gap, not a known fault.
  severityFactors: { ok: 1, unknown: 0.8, warn: 0.6, crit: 0 },
  // Checks whose failure loses data or service outright weigh more than early warnings.
  checkWeights: {
    'inspection.disk': 3,
    'inspection.backup-age': 3,
    'inspection.memory': 2,
    'inspection.inodes': 2,
    'inspection.disk-errors': 2,
    'inspection.failed-units': 2,
    'inspection.unit-active': 2,
    'inspection.endpoint': 2,
    'inspection.tls-cert': 2,
    'inspection.oom-kills': 2,
    'inspection.time-sync': 1,
    'inspection.load': 1,
    'inspection.swap': 1,
  },
  defaultWeight: 1,
};

/** Worst first: the order the report leads with. Same order as @opsbook/inspection. */
export const severityRank: Record<FindingStatus, number> = { ok: 0, unknown: 1, warn: 2, crit: 3 };

export function weightOf(check: string, formula: ScoreFormula): number {
  return formula.checkWeights[check] ?? formula.defaultWeight;
}

/** The score of one host's findings; null when no weighted check reported. */
export function scoreFindings(
  findings: Iterable<Pick<ReportedFinding, 'check' | 'status'>>,
  formula: ScoreFormula = defaultFormula,
): number | null {
  const worst = new Map<string, FindingStatus>();
  for (const f of findings) {
    const seen = worst.get(f.check);
    if (seen === undefined || severityRank[f.status] > severityRank[seen])
      worst.set(f.check, f.status);
  }
  let weighted = 0;
  let total = 0;
  for (const [check, status] of worst) {
    const w = weightOf(check, formula);
    weighted += w * formula.severityFactors[status];
    total += w;
  }
  return total > 0 ? round1((100 * weighted) / total) : null;
}

/** The mean of the scores that exist; null when none does. */
export function meanScore(scores: Iterable<number | null>): number | null {
  let sum = 0;
  let n = 0;
  for (const s of scores) {
    if (s === null) continue;
    sum += s;
    n++;
  }
  return n > 0 ? round1(sum / n) : null;
}

export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
