export {
  type AtomicWriteOptions,
  createFileAtomic,
  createFilesAtomic,
  syncDirectory,
  writeFileAtomic,
  writeFilesAtomic,
} from './atomic-write.js';
export { canonicalJson, digestOfValue } from './canonical-json.js';
export { type ActionSpec, paramValueProblem } from './check-runbook.js';
export {
  COMPOSE_PREFIX,
  type ComposeRef,
  parseComposeRef,
  USES_PATTERN,
} from './compose-ref.js';
export {
  ALERT_RULES_FILE,
  CONFIG_FILE,
  type Config,
  type ConfigFile,
  type ConfigPosition,
  configSchema,
  findConfigFile,
  loadConfig,
  MACHINE_TRUST_DIR,
  type StateConfig,
  stateConfigOf,
  trustPinDir,
} from './config.js';
export {
  controlRisk,
  describeControl,
  forbiddenControl,
  SHOWN_CONTROL,
  showControls,
  showControlsOnLine,
  writtenControl,
} from './control-characters.js';
export {
  type BundleDigest,
  type DigestedFile,
  digestOfList,
  digestRunbook,
  readBundleFiles,
} from './digest.js';
export {
  DURATION_UNIT_MS,
  type Duration,
  type DurationUnit,
  durationPattern,
  formatDuration,
  readDuration,
} from './duration.js';
export { type SchemaErrorCode, schemaErrorCodes } from './error-codes.js';
export {
  type ErrorCodeEntriesOf,
  type ErrorCodeEntry,
  type ErrorCodeGroups,
  type ErrorCodeOf,
  type ErrorKind,
  errorCodeList,
  errorsFor,
  InterruptedError,
  isOpsbookError,
  OpsbookError,
  RefusalError,
  refusalText,
  type StorageContext,
  StorageError,
  storageErrnos,
  storageErrorOf,
  type TypedErrors,
  UnreachableError,
  UsageError,
  unreadableFileError,
  unreadableReason,
  ValidationError,
  WorkFailedError,
} from './errors.js';
export {
  type FolderPathProblem,
  type FolderWords,
  folderPathProblem,
} from './folder-path.js';
export { ISO_TIME_PATTERN } from './iso-time-pattern.js';
export { parseJsonSource } from './json-source.js';
export {
  type FolderNamedAt,
  findRunbookDirs,
  type LoadOptions,
  type LoadResult,
  loadRunbook,
  RUNBOOK_FILE,
  RUNBOOK_SCOPE,
  type RunbookBundle,
} from './load-runbook.js';
export { makeDirectory } from './make-directory.js';
export { type PathWeakness, pathWeakness } from './path-weakness.js';
export { formatProblem, type Problem, sortProblems } from './problem.js';
export { isProcessAlive, processStartTime } from './process-liveness.js';
export { cachedUnlessRejected } from './promise-cache.js';
export { type OwnFileRead, readOwnFile } from './read-own-file.js';
export {
  placeholderSpotProblem,
  type RunTemplatePlaceholder,
  type RunTemplateSkeleton,
  runTemplateSkeleton,
} from './run-template.js';
export {
  type ParamSpec,
  type ParamValue,
  type Phase,
  phases,
  type Runbook,
  type RunbookSpec,
  runbookSchema,
  type Step,
  targetDefaults,
} from './runbook-schema.js';
export { scalarOffsets } from './scalar-offsets.js';
export {
  apiVersion,
  closedObject,
  documentSchema,
  identifier,
  runbookCategory,
  runbookGrade,
  timeoutDuration,
} from './schema-fragments.js';
export {
  ajvOptions,
  compileSchema,
  didYouMean,
  displayPath,
  schemaProblems,
  someOf,
  type Validator,
} from './schema-problems.js';
export { type ShellContext, type ShellContexts, shellContexts } from './shell-context.js';
export { decodeSourceText } from './source-text.js';
export {
  type ParsedTemplate,
  parseTemplate,
  type TemplatePart,
  type TemplateRef,
  templateStrings,
} from './template.js';
export {
  MAX_DEPTH,
  MAX_SOURCE_BYTES,
  type PathSegment,
  parseYamlSource,
  type YamlSource,
} from './yaml-source.js';
