import type { HealthReport } from './report-schema.js';

/** The JSON report: the HealthReport itself, valid against `healthReportSchema`. */
export function renderJson(report: HealthReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
