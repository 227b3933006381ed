import { computeReport, type ReportOptions } from './compute-report.js';
import { readHistory } from './read-history.js';
import type { HealthReport } from './report-schema.js';

export interface BuildReportRequest extends Omit<ReportOptions, 'range'> {
  stateDir: string;
  since: Date;
  /** Default `now`. */
  until?: Date;
}

/** Reads the journal of `stateDir` over [since, until] and computes the report. */
export async function buildHealthReport(request: BuildReportRequest): Promise<HealthReport> {
  const { stateDir, since, until = request.now, ...options } = request;
  const history = await readHistory(stateDir, { since, until });
  return computeReport(history, { ...options, range: { since, until } });
}
