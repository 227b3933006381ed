export { type ActionSpec, paramValueProblem } from './check-runbook.js';
export { CONFIG_FILE, type Config, type ConfigFile, configSchema, findConfigFile, loadConfig } from './config.js';
export { type BundleDigest, type DigestedFile, digestOfList, digestRunbook } from './digest.js';
export {
  type ErrorKind,
  InterruptedError,
  OpsbookError,
  RefusalError,
  UnreachableError,
  UsageError,
  ValidationError,
  WorkFailedError,
  isOpsbookError,
} from './errors.js';
export { parseJsonSource } from './json-source.js';
export {
  type LoadOptions,
  type LoadResult,
  RUNBOOK_FILE,
  RUNBOOK_SCOPE,
  type RunbookBundle,
  findRunbookDirs,
  loadRunbook,
} from './load-runbook.js';
export { type Problem, formatProblem, sortProblems } from './problem.js';
export {
  type ParamSpec,
  type ParamValue,
  type Phase,
  type Runbook,
  type RunbookSpec,
  type Step,
  phases,
  runbookSchema,
  targetDefaults,
} from './runbook-schema.js';
export {
  type Validator,
  ajvOptions,
  compileSchema,
  didYouMean,
  displayPath,
  schemaProblems,
} from './schema-problems.js';
export {
  type ParsedTemplate,
  type TemplatePart,
  type TemplateRef,
  parseTemplate,
  templateStrings,
} from './template.js';
export { MAX_SOURCE_BYTES, type PathSegment, type YamlSource, parseYamlSource } from './yaml-source.js';
