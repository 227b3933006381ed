export {
  ACCEPTANCE_NAMESPACE,
  ACCEPTANCE_PAYLOAD_TYPE,
  type AcceptanceInput,
  type AcceptanceStatement,
  acceptanceStatementSchema,
  approverOfKey,
  createAcceptance,
  createAcceptanceEnvelope,
  type VerifiedAcceptance,
  verifyAcceptance,
} from './acceptance.js';
export {
  type AgentKey,
  type AgentOptions,
  connectAgentSigner,
  listAgentKeys,
} from './agent-signer.js';
export type { ExpectedRun } from './approval-bindings.js';
export { approversSchema } from './approvers-schema.js';
export { formatDuration, parseDuration } from './duration.js';
export {
  APPROVAL_PAYLOAD_TYPE,
  APPROVERS_PAYLOAD_TYPE,
  attachSignature,
  checkAttachable,
  createEnvelope,
  type Envelope,
  type EnvelopeSignature,
  envelopeOf,
  envelopeSchema,
  MAX_ENVELOPE_BYTES,
  type ParsedEnvelope,
  parseEnvelope,
  payloadBytes,
  readEnvelope,
  serializeEnvelope,
} from './envelope.js';
export { type ApprovalErrorCode, approvalErrorCodes } from './error-codes.js';
export { type KeyFileOptions, loadKeyFileSigner } from './key-file-signer.js';
export {
  checkProposal,
  PROPOSAL_NAMESPACE,
  type ProvenPerson,
  signProposal,
} from './proposal.js';
export { type ApprovalCode, approvalCodes, type Refusal } from './refusal.js';
export { countRotationSignatures, type RotationCount } from './rotation-signatures.js';
export {
  approvalDigestOf,
  identifyExecutor,
  RUN_CLAIM_NAMESPACE,
  RUN_CLAIM_PAYLOAD_TYPE,
  type RunClaim,
  runClaimBytes,
  runClaimSchema,
  signRunClaim,
  type VerifiedRunClaim,
  verifyRunClaim,
} from './run-claim.js';
export { namespaceFor, signEnvelope } from './sign-envelope.js';
export {
  fingerprintOf,
  formatPublicKeyLine,
  MIN_RSA_BITS,
  parsePublicKeyBlob,
  parsePublicKeyLine,
  SshKeyError,
  type SshKeyType,
  type SshPublicKey,
  sshKeyTypes,
} from './ssh-key.js';
export { type SignatureCheck, type SignatureFailure, verifySshSignature } from './ssh-signature.js';
export {
  APPROVAL_NAMESPACE,
  createSshsig,
  parseSshsig,
  type SshSigner,
  type Sshsig,
  type SshsigCheck,
  type SshsigHash,
  TRUST_NAMESPACE,
  verifySshsig,
} from './sshsig.js';
export {
  type ApprovalStatement,
  approvalStatementSchema,
  type Category,
  type ComposedRunbook,
  createStatement,
  DEFAULT_EXPIRY,
  formatInstant,
  type Grade,
  NOT_CANONICAL,
  newApprovalId,
  parseStatement,
  proposalBytes,
  reviseStatement,
  type StatementInput,
  statementBytes,
  type Targets,
  type TrackerBinding,
} from './statement.js';
export { MAX_RUNS } from './statement-schema.js';
export {
  addApprover,
  checkPublicKeyLine,
  createTrustEnvelope,
  type NewApprover,
  newTrustStore,
  revokeKey,
} from './trust-edit.js';
export {
  initTrust,
  loadTrustedStore,
  pinnedFileOf,
  pinWeakness,
  readPinnedStore,
  readTrustStoreFile,
  signatureFileOf,
  type TrustLoad,
} from './trust-pin.js';
export {
  type Approver,
  type ApproversFile,
  isSenior,
  parseTrustStore,
  type ResolvedPolicy,
  type Role,
  resolvePolicy,
  TRUST_STORE_FILE,
  type TrustedKey,
  type TrustStore,
} from './trust-store.js';
export { type TrustStorePeople, trustStorePeople } from './trust-store-people.js';
export {
  checkSigning,
  type ExecutorIdentity,
  type Verified,
  type VerifiedSigner,
  type VerifyContext,
  type VerifyResult,
  verifyApproval,
} from './verify-approval.js';
