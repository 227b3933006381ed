import { ACCEPTANCE_NAMESPACE, ACCEPTANCE_PAYLOAD_TYPE } from './acceptance.js';
import {
  APPROVAL_PAYLOAD_TYPE,
  APPROVERS_PAYLOAD_TYPE,
  attachSignature,
  type Envelope,
  payloadBytes,
} from './envelope.js';
import { approvalErrors } from './error-codes.js';
import { RUN_CLAIM_NAMESPACE, RUN_CLAIM_PAYLOAD_TYPE } from './run-claim-schema.js';
import {
  APPROVAL_NAMESPACE,
  createSshsig,
  type SshSigner,
  type SshsigHash,
  TRUST_NAMESPACE,
  verifySshsig,
} from './sshsig.js';

/** The SSHSIG namespace of each payload type: a signature for one never verifies as the other. */
export function namespaceFor(payloadType: string): string {
  if (payloadType === APPROVAL_PAYLOAD_TYPE) return APPROVAL_NAMESPACE;
  if (payloadType === APPROVERS_PAYLOAD_TYPE) return TRUST_NAMESPACE;
  if (payloadType === ACCEPTANCE_PAYLOAD_TYPE) return ACCEPTANCE_NAMESPACE;
  if (payloadType === RUN_CLAIM_PAYLOAD_TYPE) return RUN_CLAIM_NAMESPACE;
  throw new approvalErrors.OpsbookError(
    'invalid',
    'ENVELOPE_INVALID',
    `payloadType '${payloadType}' is not one opsbook signs`,
  );
}

/**
 * Sign the envelope's exact payload bytes with `signer` (key file, agent or security key) and
 * return the envelope with the signature attached. The new signature is checked before it is
 * returned, so a misbehaving agent or token cannot hand out a signature that will not verify.
 */
export async function signEnvelope(
  envelope: Envelope,
  signer: SshSigner,
  options: { hash?: SshsigHash; signal?: AbortSignal } = {},
): Promise<Envelope> {
  const namespace = namespaceFor(envelope.payloadType);
  const payload = payloadBytes(envelope, { payloadType: envelope.payloadType });
  const armored = await createSshsig(payload, signer, namespace, options);
  const check = verifySshsig(armored, payload, namespace);
  if (!check.ok) {
    throw new approvalErrors.OpsbookError(
      'failed',
      'SIGNING_FAILED',
      `the signature made with ${signer.publicKey.fingerprint} does not verify (${check.detail}): check the key or agent and sign again`,
    );
  }
  return attachSignature(envelope, armored);
}
