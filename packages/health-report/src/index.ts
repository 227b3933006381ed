export {
  type AlertActivity,
  type AlertsSection,
  alertsSectionSchema,
  computeAlertsSection,
  formatMinutes,
} from './alerts-section.js';
export { type BuildReportRequest, buildHealthReport } from './build-health-report.js';
export { computeReport, countStatuses, type ReportOptions } from './compute-report.js';
export {
  type HealthReportErrorCode,
  healthReportErrorCodes,
  healthReportErrors,
} from './error-codes.js';
export {
  computeHeadroom,
  defaultFitRule,
  type FitRule,
  fitLine,
  headroomOf,
  type LinearFit,
  MIN_FIT_POINTS,
} from './headroom.js';
export {
  type HealthReportContext,
  type HealthReportOutcome,
  type HealthReportSummary,
  healthReportAction,
  healthReportWithSchema,
  REPORT_BASENAME,
  type ReportFormat,
  summarize,
} from './health-report-action.js';
export type {
  FactsSample,
  History,
  HostFacts,
  HostOutcome,
  InspectionSample,
  ReportedFinding,
  RunRef,
} from './history.js';
export { escapeHtml, jsonForScript } from './html-escape.js';
export {
  addRun,
  type HistoryFilter,
  type HistorySource,
  readHistory,
  type TimeRange,
} from './read-history.js';
export { renderHtml } from './render-html.js';
export { renderJson } from './render-json.js';
export { escapeMd, MARKDOWN_LIMIT_BYTES, renderMarkdown } from './render-markdown.js';
export { WORSENING_POINTS } from './report-changes.js';
export { describeHeadline, HEALTHY_SCORE, URGENT_DAYS } from './report-headline.js';
export {
  type FindingChange,
  type FindingStatus,
  type GroupHealth,
  type HeadroomEntry,
  type HealthReport,
  type HostHealth,
  healthReportSchema,
  type JournalProblem,
  type ReportFinding,
  type ReportHeadline,
  type ReportScope,
  type ResourceCharts,
  type StatusCounts,
  type TopOffender,
  type TrendPoint,
  type UrgentItem,
} from './report-schema.js';
export { MAX_SINCE_DAYS, parseReportTime, parseSince } from './report-since.js';
export { CHART_HOSTS, CHART_URGENT_HOSTS } from './resource-charts.js';
export { defaultFormula, meanScore, type ScoreFormula, scoreFindings } from './score-formula.js';
