import { computeReport, type ReportOptions } from './compute-report.js';
import { type HistorySource, readHistory } from './read-history.js';
import type { HealthReport } from './report-schema.js';

export interface BuildReportRequest extends Omit<ReportOptions, 'range'> {
  /** The state store to read (`stateStoreOf(config)`), or a state dir for its files store. */
  store?: HistorySource;
  /** The state dir of a files store; ignored when `store` is given. */
  stateDir?: string;
  since: Date;
  /** Default `now`. */
  until?: Date;
  /** Only these hosts (default `selection.hosts`, else every host in the history). */
  hosts?: readonly string[];
}

/** Reads the store's findings over [since, until] and computes the report. */
export async function buildHealthReport(request: BuildReportRequest): Promise<HealthReport> {
  const { store, stateDir, since, until = request.now, hosts, ...options } = request;
  const source = store ?? stateDir;
  if (source === undefined) throw new TypeError('buildHealthReport needs a store or a stateDir');
  const only = hosts ?? options.selection?.hosts;
  const history = await readHistory(source, { since, until }, only ? { hosts: only } : {});
  return computeReport(history, { ...options, range: { since, until } });
}
