// The health report as the CLI reaches it: the cli imports only @opsbook/runner and
// @opsbook/schema, so what `opsbook report` needs from @opsbook/health-report passes here.
export {
  type BuildReportRequest,
  buildHealthReport,
  type HealthReport,
  type HealthReportSummary,
  healthReportAction,
  parseSince,
  type ReportFormat,
  renderHtml,
  renderJson,
  renderMarkdown,
  summarize,
} from '@opsbook/health-report';
