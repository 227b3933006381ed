export {
  type CatalogHistory,
  type CatalogRunFact,
  readCatalogHistory,
} from './catalog/catalog-history.js';
export { RUNS_SHOWN, renderCatalogHtml } from './catalog/render-catalog-html.js';
export { renderCatalogMarkdown } from './catalog/render-catalog-markdown.js';
export {
  buildCatalog,
  type Catalog,
  type CatalogApproval,
  type CatalogBroken,
  type CatalogParam,
  type CatalogRun,
  type CatalogRunbook,
  type CatalogSource,
  type CatalogStep,
  type CatalogVersion,
} from './catalog/runbook-catalog.js';
export { type CurationErrorCode, curationErrorCodes, curationErrors } from './error-codes.js';
export {
  type HistoryStore,
  type LeftOutRun,
  readVerifiedRuns,
  type VerifiedRuns,
} from './history/verified-runs.js';
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
export { type ChangesetHome, findChangesetHome } from './promote/changeset-home.js';
export {
  type PromoteOptions,
  type PromoteResult,
  promoteScript,
} from './promote/promote-script.js';
export {
  type DetectedParam,
  detectScriptInterface,
  type ParamSource,
  type ParamType,
  type ScriptInterface,
} from './promote/script-interface.js';
export {
  checkRunbookName,
  checkRunbookTitle,
  firstVersionChangeset,
  isRunbookName,
  RUNBOOK_CATEGORIES,
  RUNBOOK_GRADES,
  RUNBOOK_NAME_RULE,
  RUNBOOK_TITLE_MAX,
  type RunbookCategory,
  type RunbookGrade,
  runbookPackageJson,
  runbookTitleProblem,
  type ScaffoldChoices,
  scaffoldChoices,
} from './scaffold/runbook-package.js';
export { renderYaml, type YamlValue, yamlScalar } from './scaffold/runbook-yaml.js';
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
