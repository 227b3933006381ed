import { createHash } from 'node:crypto';
import { formatProblem, parseJsonSource, type Validator } from '@opsbook/schema';
import type { FromSchema } from 'json-schema-to-ts';
import { type Envelope, envelopeOf, readEnvelope } from './envelope.js';
import { validateRunClaim as generatedValidate } from './generated/validators.js';
import { type Refusal, refuse } from './refusal.js';
import { RUN_CLAIM_NAMESPACE, RUN_CLAIM_PAYLOAD_TYPE, runClaimSchema } from './run-claim-schema.js';
import { signEnvelope } from './sign-envelope.js';
import { type SshSigner, verifySshsig } from './sshsig.js';
import { formatInstant } from './statement.js';
import type { TrustStore } from './trust-store.js';

const validateRunClaim = generatedValidate as unknown as Validator<RunClaim>;

export { RUN_CLAIM_NAMESPACE, RUN_CLAIM_PAYLOAD_TYPE, runClaimSchema };
export type RunClaim = FromSchema<typeof runClaimSchema>;

/** Who runs, as the trust store knows them from the key that proved it (never from a name). */
export interface ExecutorIdentity {
  id: string;
  name?: string;
  jira?: string;
  /** The SHA256 fingerprint of the key the executor proved they hold. */
  fingerprint?: string;
}

/** `sha256:<hex>` of the approval's exact payload bytes: the claim names one byte form. */
export function approvalDigestOf(payload: Uint8Array): string {
  return `sha256:${createHash('sha256').update(payload).digest('hex')}`;
}

/**
 * The person the trust store lists with this key, whatever their roles (engineers run, seniors
 * may run what other seniors approved). An unknown or revoked key is refused: a run is tied to a
 * person as strongly as an approval is.
 */
export function identifyExecutor(
  store: TrustStore,
  fingerprint: string,
): { ok: true; executor: ExecutorIdentity } | Refusal {
  const reason = store.revoked.get(fingerprint);
  if (reason !== undefined)
    return refuse(
      'KEY_REVOKED',
      `your key ${fingerprint} is revoked (${reason}): run with a current key listed in the trust store`,
    );
  const trusted = store.keys.get(fingerprint);
  if (!trusted)
    return refuse(
      'EXECUTOR_UNTRUSTED',
      `the key ${fingerprint} you run with is not in the trust store (${store.file} version ${store.version}): run with your own listed key (--key or --agent), or ask the seniors to add you (opsbook trust add-approver --role engineer)`,
    );
  const { approver } = trusted;
  return {
    ok: true,
    executor: {
      id: approver.id,
      name: approver.name,
      fingerprint,
      ...(approver.jira ? { jira: approver.jira } : {}),
    },
  };
}

export interface RunClaimInput {
  approvalId: string;
  approvalPayload: Uint8Array;
  ticket: string;
  runId: string;
  hosts: readonly string[];
  executor: string;
  now?: Date;
}

function canonicalClaim(c: RunClaim): RunClaim {
  return {
    apiVersion: c.apiVersion,
    kind: c.kind,
    approvalId: c.approvalId,
    approvalDigest: c.approvalDigest,
    ticket: c.ticket,
    runId: c.runId,
    hosts: [...c.hosts],
    executor: c.executor,
    claimedAt: c.claimedAt,
  };
}

/** The exact bytes a claim is signed as: canonical key order, two-space indent, final newline. */
export function runClaimBytes(claim: RunClaim): Buffer {
  return Buffer.from(`${JSON.stringify(canonicalClaim(claim), null, 2)}\n`, 'utf8');
}

/** Sign a new run claim with the executor's own key; the signature is checked before return. */
export async function signRunClaim(input: RunClaimInput, signer: SshSigner): Promise<Envelope> {
  const claim: RunClaim = {
    apiVersion: 'opsbook/v1',
    kind: 'RunClaim',
    approvalId: input.approvalId,
    approvalDigest: approvalDigestOf(input.approvalPayload),
    ticket: input.ticket,
    runId: input.runId,
    hosts: [...input.hosts],
    executor: input.executor,
    claimedAt: formatInstant(input.now ?? new Date()),
  };
  return signEnvelope(envelopeOf(RUN_CLAIM_PAYLOAD_TYPE, runClaimBytes(claim)), signer);
}

export interface VerifiedRunClaim {
  ok: true;
  claim: RunClaim;
  executor: ExecutorIdentity;
}

/**
 * Check a run claim as a verifier does: one valid signature in the run namespace, by a key the
 * trust store lists for the person the claim names, over canonical bytes; and, when given, the
 * approval and run it must be about.
 */
export function verifyRunClaim(
  input: Envelope | string | Uint8Array,
  store: TrustStore,
  expected: { approvalId?: string; approvalDigest?: string; runId?: string } = {},
): VerifiedRunClaim | Refusal {
  const text =
    typeof input === 'object' && !(input instanceof Uint8Array) ? JSON.stringify(input) : input;
  const { parsed, problems } = readEnvelope(text, {
    file: 'run claim',
    payloadType: RUN_CLAIM_PAYLOAD_TYPE,
  });
  if (!parsed)
    return refuse(
      'EXECUTOR_UNPROVEN',
      `the run claim is malformed (${problems.map(formatProblem).join('; ')})`,
    );
  const source = parseJsonSource('run claim', parsed.payload);
  if (source.problems.length || !validateRunClaim(source.value))
    return refuse('EXECUTOR_UNPROVEN', 'the run claim does not hold a valid RunClaim statement');
  const claim = source.value as RunClaim;
  if (!parsed.payload.equals(runClaimBytes(claim)))
    return refuse('EXECUTOR_UNPROVEN', 'the run claim is not in its canonical form');
  const [sig, ...more] = parsed.envelope.signatures;
  if (!sig || more.length)
    return refuse('EXECUTOR_UNPROVEN', 'a run claim carries exactly one signature, its executor’s');
  const check = verifySshsig(sig.sshsig, parsed.payload, RUN_CLAIM_NAMESPACE);
  if (!check.ok || check.sig.publicKey.fingerprint !== sig.keyid)
    return refuse('EXECUTOR_UNPROVEN', `the run claim's signature by ${sig.keyid} does not verify`);
  const who = identifyExecutor(store, sig.keyid);
  if (!who.ok) return who;
  if (who.executor.id !== claim.executor)
    return refuse(
      'EXECUTOR_UNPROVEN',
      `the run claim names ${claim.executor} but is signed by ${who.executor.id}'s key ${sig.keyid}`,
    );
  for (const [field, want] of Object.entries(expected) as Array<
    [keyof typeof expected, string | undefined]
  >)
    if (want !== undefined && claim[field] !== want)
      return refuse(
        'EXECUTOR_UNPROVEN',
        `the run claim is for another ${field} (${claim[field]}, not ${want})`,
      );
  return { ok: true, claim, executor: who.executor };
}
