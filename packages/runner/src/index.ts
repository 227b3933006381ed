export { MAX_RUNS } from '@opsbook/approval';
export { builtinActionSpecs } from './actions/action-specs.js';
export { builtinActions } from './actions/actions.js';
export { type BackupHistory, type BackupRecord, backupHistory } from './actions/backup-history.js';
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
  type SigningView,
  scriptsOf,
  serializeApproval,
  type VerifiedPlan,
  type VerifiedRun,
  type VerifyOptions,
  verifyApprovalFile,
} from './approval/approval-flow.js';
export {
  chooseExecutorSigner,
  chooseSigner,
  DEFAULT_IDENTITY_FILES,
  type SignerChoice,
} from './approval/signer.js';
export {
  FIRST_SENIOR,
  trustAddApprover,
  trustInit,
  trustRevoke,
  trustShow,
  trustSign,
} from './approval/trust.js';
export * from './distribute/index.js';
export { type RunnerErrorCode, runnerErrorCodes } from './error-codes.js';
export {
  type ExecuteResult,
  executePlan,
  type HostResult,
  type HostStatus,
  type StepResult,
} from './execute/execute.js';
export {
  groupMembers,
  type RoutineRun,
  type RoutineRunRequest,
  requireStandingApproval,
  routineFleetStatistics,
  runRoutine,
  standingSetupHint,
} from './execute/routine-run.js';
export { type RunOutcome, type RunRequest, runApproved, runStatusOf } from './execute/run.js';
export type { RunEvent, RunStatus } from './execute/run-events.js';
export { createMasker } from './execute/secret-mask.js';
export {
  composedRefs,
  compositionsOf,
  loadCatalog,
  loadOneRunbook,
  loadRunbookFor,
  readVersionHistory,
  resolveRunbookDir,
  type VersionEntry,
} from './plan/catalog.js';
export {
  type Composition,
  composedDirsOf,
  flattenCompositions,
  MAX_COMPOSE_DEPTH,
  type ResolveOptions,
  resolveCompositions,
} from './plan/compose.js';
export {
  parseParamArgs,
  type ResolvedParams,
  readSecretParams,
  resolveApprovedParams,
  resolveParams,
} from './plan/params.js';
export {
  DEFAULT_STEP_TIMEOUT_MS,
  type Plan,
  type PlannedHost,
  type PlannedStep,
  planDigest,
  planScripts,
  renderPlan,
  vaultLine,
} from './plan/plan.js';
export { hostsByName, loadRunInventory, selectTargets } from './plan/targets.js';
export * from './schedule/index.js';
export type { WaitingWrites } from './ticket/outbox-waiting.js';
export { signingDeclined } from './ticket/proposal-check.js';
export {
  collectFindings,
  digestJournal,
  evidenceBundle,
  findingCountsText,
  type RunDigest,
  routeText,
  type StepRecord,
  summarizeRun,
} from './ticket/run-summary.js';
export {
  checkRunOnTicket,
  isUnusedRun,
  RUN_RECORD_READS,
  RUNS_PROPERTY,
  type RunEndReport,
  type RunEndReporter,
  readTicketRuns,
  TicketGate,
  type TicketGateOptions,
  type TicketReport,
  type TicketRunRecord,
} from './ticket/run-ticket.js';
export {
  type DecisionSubject,
  isProvenSeniorDecision,
  seniorDecisionChecker,
  signSeniorDecision,
  unprovenDecisions,
} from './ticket/senior-decision.js';
export { type AcceptTicketRequest, acceptTicket } from './ticket/ticket-accept.js';
export {
  type ApproveTicketRequest,
  approveTicket,
  type RejectTicketRequest,
  rejectTicket,
} from './ticket/ticket-approve.js';
export {
  type CommentedTicket,
  type CommentFile,
  type CommentTicketRequest,
  commentTicket,
} from './ticket/ticket-comment.js';
export {
  checkTicketExists,
  checkTicketReady,
  refuseMissingTicket,
  type TicketCheck,
  type TicketReadiness,
} from './ticket/ticket-exists.js';
export {
  HISTORY_PROPERTY,
  readHistory,
  type TicketStep,
  type TicketStepKind,
} from './ticket/ticket-history.js';
export {
  bugsJql,
  type EscalateRequest,
  escalateTicket,
  searchBugs,
  showTicket,
  type TicketView,
} from './ticket/ticket-lookup.js';
export {
  DEFAULT_EVIDENCE_RUNBOOK,
  defaultEvidenceRunbook,
  type OpenedTicket,
  type OpenTicketRequest,
  openTicket,
  standingApprovalFile,
} from './ticket/ticket-open.js';
export {
  isProvenStep,
  ownershipPeople,
  type StepProof,
  TICKET_STEP_NAMESPACE,
  type TicketPerson,
} from './ticket/ticket-people.js';
export {
  type Proposal,
  type ProposeRequest,
  planComment,
  proposeTicket,
  seniorChoicesOf,
} from './ticket/ticket-propose.js';
export {
  ACCEPTANCE_PROPERTY,
  APPROVAL_PROPERTY,
  PROPOSAL_PROPERTY,
  type TicketApproval,
  type TicketProposal,
} from './ticket/ticket-record.js';
export { type ReportedRuns, type ReportRunsRequest, reportRuns } from './ticket/ticket-report.js';
export { type RunTicketRequest, runTicket } from './ticket/ticket-run.js';
export {
  type SaveApprovalRequest,
  type SavedApproval,
  saveTicketApproval,
} from './ticket/ticket-save-approval.js';
export {
  bindingOf,
  type OpenTrackerOptions,
  openTracker,
  type TicketServices,
  trackerBinding,
} from './ticket/ticket-tracker.js';
