export { type Finding, type FindingStatus, findingSchema, sortFindings, worstStatus } from './finding.js';
export {
  defineCheck,
  type EvaluateContext,
  type InspectionCheck,
  type Parsed,
  type ThresholdPair,
  type Thresholds,
} from './inspection-check.js';
export {
  findInspectionCheck,
  type InspectionCheckName,
  inspectionCheckNames,
  inspectionChecks,
  listInspectionActions,
} from './inspection-checks.js';
export { resolveThresholds, thresholdDefaults, thresholdVarName } from './resolve-thresholds.js';
export { type InspectedHost, requireInspectionCheck, runCheck } from './run-check.js';
export { withProblems } from './check-with.js';
export { parseDf, type DfRow } from './checks/filesystem.js';
export { parseMeminfo, type MemInfo } from './checks/memory.js';
export { parseLoad, type LoadInfo } from './checks/load.js';
export { parsePs, type ProcessRow } from './checks/processes.js';
export { parseListening, type ListeningSocket } from './checks/port-listening.js';
