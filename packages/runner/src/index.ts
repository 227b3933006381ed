export { builtinActions } from './actions.js';
export {
  type ApprovalFile,
  type ApproveOptions,
  approveFile,
  attachSignatureFile,
  createPlan,
  currentUser,
  type PlannedRun,
  type PlanRequest,
  readApprovalFile,
  readApprovalPayload,
  rederivePlan,
  serializeApproval,
  type VerifiedRun,
  type VerifyOptions,
  verifyApprovalFile,
  writeFileAtomic,
} from './approval-flow.js';
export {
  loadCatalog,
  loadOneRunbook,
  loadRunbookFor,
  readVersionHistory,
  resolveRunbookDir,
  type VersionEntry,
} from './catalog.js';
export {
  type ExecuteResult,
  executePlan,
  type HostResult,
  type HostStatus,
  type StepResult,
} from './execute.js';
export { createMasker, Journal } from './journal.js';
export { verifyJournal } from './journal-verify.js';
export { consumeRun, ledgerEntryOf, recordRunEnd, runsUsed } from './ledger.js';
export { parseParamArgs, type ResolvedParams, readSecretParams, resolveParams } from './params.js';
export {
  DEFAULT_STEP_TIMEOUT_MS,
  type Plan,
  type PlannedHost,
  type PlannedStep,
  planDigest,
  renderPlan,
} from './plan.js';
export { type RunOutcome, type RunRequest, runApproved, runStatusOf } from './run.js';
export type { RunEvent, RunStatus } from './run-events.js';
export { listRuns, newRunId, readRun, resolveRunId } from './run-store.js';
export { chooseSigner, type SignerChoice } from './signer.js';
export { hostsByName, loadRunInventory, selectTargets } from './targets.js';
export { trustAddApprover, trustInit, trustRevoke, trustShow, trustSign } from './trust.js';
