export { type AgentKey, type AgentOptions, connectAgentSigner, listAgentKeys } from './agent-signer.js';
export type { ExpectedRun } from './approval-bindings.js';
export { approversSchema } from './approvers-schema.js';
export { formatDuration, parseDuration } from './duration.js';
export {
  APPROVAL_PAYLOAD_TYPE,
  APPROVERS_PAYLOAD_TYPE,
  type Envelope,
  type EnvelopeSignature,
  MAX_ENVELOPE_BYTES,
  type ParsedEnvelope,
  attachSignature,
  createEnvelope,
  envelopeSchema,
  parseEnvelope,
  payloadBytes,
  readEnvelope,
  serializeEnvelope,
} from './envelope.js';
export { type KeyFileOptions, loadKeyFileSigner } from './key-file-signer.js';
export { type ApprovalCode, type Refusal, approvalCodes } from './refusal.js';
export { type SignatureCheck, type SignatureFailure, verifySshSignature } from './ssh-signature.js';
export {
  type ApprovalStatement,
  type Category,
  DEFAULT_EXPIRY,
  type Grade,
  type StatementInput,
  type Targets,
  approvalStatementSchema,
  createStatement,
  formatInstant,
  newApprovalId,
  parseStatement,
  reviseStatement,
  statementBytes,
} from './statement.js';
export {
  MIN_RSA_BITS,
  type SshKeyType,
  type SshPublicKey,
  SshKeyError,
  fingerprintOf,
  formatPublicKeyLine,
  parsePublicKeyBlob,
  parsePublicKeyLine,
  sshKeyTypes,
} from './ssh-key.js';
export {
  APPROVAL_NAMESPACE,
  type Sshsig,
  type SshsigCheck,
  type SshsigHash,
  type SshSigner,
  TRUST_NAMESPACE,
  createSshsig,
  parseSshsig,
  verifySshsig,
} from './sshsig.js';
export {
  type Approver,
  type ApproversFile,
  type ResolvedPolicy,
  type Role,
  TRUST_STORE_FILE,
  type TrustStore,
  type TrustedKey,
  isSenior,
  parseTrustStore,
  resolvePolicy,
} from './trust-store.js';
export {
  type ExecutorIdentity,
  type Verified,
  type VerifiedSigner,
  type VerifyContext,
  type VerifyResult,
  verifyApproval,
} from './verify-approval.js';
export { namespaceFor, signEnvelope } from './sign-envelope.js';
export { type NewApprover, addApprover, createTrustEnvelope, revokeKey } from './trust-edit.js';
export {
  type TrustLoad,
  initTrust,
  loadTrustedStore,
  pinnedFileOf,
  readPinnedStore,
  signatureFileOf,
} from './trust-pin.js';
