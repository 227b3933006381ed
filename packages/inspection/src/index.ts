export { withProblems } from './check-with.js';
export { type DfRow, parseDf } from './checks/filesystem.js';
export { type LoadInfo, parseLoad } from './checks/load.js';
export { type MemInfo, parseMeminfo } from './checks/memory.js';
export { type ListeningSocket, parseListening } from './checks/port-listening.js';
export { type ProcessRow, parsePs } from './checks/processes.js';
export { excerpt } from './collector-output.js';
export { type InspectionErrorCode, inspectionErrorCodes } from './error-codes.js';
export {
  type Finding,
  type FindingStatus,
  findingSchema,
  sortFindings,
  worstStatus,
} from './finding.js';
export {
  type CheckWith,
  defineCheck,
  type EvaluateContext,
  type InspectionCheck,
  type Parsed,
  type ThresholdPair,
  type Thresholds,
  type WithSchemaOf,
} from './inspection-check.js';
export {
  findInspectionCheck,
  type InspectionCheckName,
  inspectionCheckNames,
  inspectionChecks,
  listInspectionActions,
} from './inspection-checks.js';
export {
  resolveThresholds,
  thresholdDefaults,
  thresholdVarName,
  type VarOrigins,
} from './resolve-thresholds.js';
export { type InspectedHost, requireInspectionCheck, runCheck } from './run-check.js';
export {
  countLimits,
  type MeasuredFields,
  namedLimits,
  percentLimits,
  type WarnCritLimits,
  type WarnCritSpec,
  warnAndCrit,
  warnCritLimits,
} from './warn-crit-limits.js';
