export { type CurationErrorCode, curationErrorCodes, curationErrors } from './error-codes.js';
export { compareFindings, type LintFinding, type SourceRange } from './lint/lint-finding.js';
export {
  isKnownRule,
  type LintRule,
  type LintSeverity,
  lintRules,
  type OwnRuleId,
  shellCheckHelpUri,
} from './lint/lint-rules.js';
export {
  countFindings,
  type LintCounts,
  type LintOptions,
  type LintReport,
  lintRunbooks,
  type RunbookLint,
} from './lint/lint-runbooks.js';
export { renderSarif, SARIF_SCHEMA_URI, type SarifOptions } from './lint/sarif.js';
export {
  pendingChangesets,
  type SinceRevision,
  type VersionBaseline,
  versionBaseline,
  versionFindings,
} from './lint/version-rules.js';
export { elapsed, renderStatsMarkdown } from './stats/render-stats-markdown.js';
export {
  buildRunbookStats,
  compareVersions,
  computeVersionStats,
  type FailedStep,
  type IdleRunbook,
  percentile,
  type RunbookStats,
  type RunbookVersionStats,
  type RunFacts,
  type RunOutcomes,
  STEPS_SHOWN,
  type StatsRequest,
} from './stats/runbook-stats.js';
