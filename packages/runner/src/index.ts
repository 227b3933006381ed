export { builtinActionSpecs } from './action-specs.js';
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
} from './approval-flow.js';
export {
  loadCatalog,
  loadOneRunbook,
  loadRunbookFor,
  readVersionHistory,
  resolveRunbookDir,
  type VersionEntry,
} from './catalog.js';
export { type RunnerErrorCode, runnerErrorCodes } from './error-codes.js';
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
export {
  parseParamArgs,
  type ResolvedParams,
  readSecretParams,
  resolveApprovedParams,
  resolveParams,
} from './params.js';
export {
  DEFAULT_STEP_TIMEOUT_MS,
  type Plan,
  type PlannedHost,
  type PlannedStep,
  planDigest,
  renderPlan,
} from './plan.js';
export * from './report.js';
export {
  groupMembers,
  type RoutineRun,
  type RoutineRunRequest,
  requireStandingApproval,
  routineFleetStatistics,
  runRoutine,
  standingSetupHint,
} from './routine-run.js';
export { type RunOutcome, type RunRequest, runApproved, runStatusOf } from './run.js';
export type { RunEvent, RunStatus } from './run-events.js';
export {
  type HostCounts,
  listRuns,
  newRunId,
  type RunRecordView,
  type RunState,
  type RunSummary,
  readRun,
  resolveRunId,
} from './run-store.js';
export {
  digestJournal,
  evidenceBundle,
  type RunDigest,
  type StepRecord,
  summarizeRun,
} from './run-summary.js';
export {
  RUNS_PROPERTY,
  TicketGate,
  type TicketGateOptions,
  type TicketReport,
  type TicketRunRecord,
} from './run-ticket.js';
export {
  chooseExecutorSigner,
  chooseSigner,
  DEFAULT_IDENTITY_FILES,
  type SignerChoice,
} from './signer.js';
export { hostsByName, loadRunInventory, selectTargets } from './targets.js';
export { type AcceptTicketRequest, acceptTicket } from './ticket-accept.js';
export {
  type ApproveTicketRequest,
  approveTicket,
  type RejectTicketRequest,
  rejectTicket,
} from './ticket-approve.js';
export {
  bugsJql,
  escalateTicket,
  searchBugs,
  showTicket,
  type TicketView,
} from './ticket-lookup.js';
export {
  type OpenedTicket,
  type OpenTicketRequest,
  openTicket,
  standingApprovalFile,
} from './ticket-open.js';
export {
  type Proposal,
  type ProposeRequest,
  planComment,
  proposeTicket,
} from './ticket-propose.js';
export {
  ACCEPTANCE_PROPERTY,
  APPROVAL_PROPERTY,
  PROPOSAL_PROPERTY,
  type TicketApproval,
  type TicketProposal,
} from './ticket-record.js';
export { type RunTicketRequest, runTicket } from './ticket-run.js';
export { type OpenTrackerOptions, openTracker, type TicketServices } from './ticket-tracker.js';
export { trustAddApprover, trustInit, trustRevoke, trustShow, trustSign } from './trust.js';
