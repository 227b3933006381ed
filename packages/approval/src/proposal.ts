import type { Envelope } from './envelope.js';
import { approvalErrors } from './error-codes.js';
import { type Refusal, refuse } from './refusal.js';
import type { ExecutorIdentity } from './run-claim.js';
import { createSshsig, type SshSigner, verifySshsig } from './sshsig.js';
import { type ApprovalStatement, proposalBytes } from './statement.js';
import type { TrustStore } from './trust-store.js';

/** Its own SSHSIG namespace: a proposal signature never passes as an approval, or back. */
export const PROPOSAL_NAMESPACE = 'opsbook-proposal';

/** A person proven by their key: the proposer or the executor of a run. */
export type ProvenPerson = ExecutorIdentity;

/**
 * `opsbook plan`: the proposer signs the statement's proposal bytes with their own key and the
 * signature rides in the envelope's `proposal`. The senior's later --expires/--max-runs leave it
 * valid; any other change of the statement does not.
 */
export async function signProposal(
  envelope: Envelope,
  statement: ApprovalStatement,
  signer: SshSigner,
): Promise<Envelope> {
  const bytes = proposalBytes(statement);
  const sshsig = await createSshsig(bytes, signer, PROPOSAL_NAMESPACE);
  if (!verifySshsig(sshsig, bytes, PROPOSAL_NAMESPACE).ok)
    throw new approvalErrors.OpsbookError(
      'failed',
      'SIGNING_FAILED',
      `the proposal signature made with ${signer.publicKey.fingerprint} does not verify: check the key or agent and plan again`,
    );
  return { ...envelope, proposal: { keyid: signer.publicKey.fingerprint, sshsig } };
}

/**
 * Who proposed the statement, proven: a valid proposal signature over its proposal bytes, by an
 * unrevoked key the trust store lists for the person the statement names as proposer. Without
 * one nobody but the signers can be said to have proposed it, so the approval is refused.
 */
export function checkProposal(
  envelope: Pick<Envelope, 'proposal'>,
  statement: ApprovalStatement,
  store: TrustStore,
): { ok: true; proposer: ProvenPerson } | Refusal {
  const replan = 'the engineer plans it again with their own key (opsbook plan --key …)';
  const { proposal } = envelope;
  if (!proposal || statement.proposer === undefined)
    return refuse(
      'PROPOSER_UNPROVEN',
      `the approval carries no proposer's signature, so nobody but its signers can be said to have proposed it: ${replan}, and a senior signs that`,
    );
  const check = verifySshsig(proposal.sshsig, proposalBytes(statement), PROPOSAL_NAMESPACE);
  if (!check.ok || check.sig.publicKey.fingerprint !== proposal.keyid)
    return refuse(
      'PROPOSER_UNPROVEN',
      `the proposer's signature (${proposal.keyid}) does not cover this statement: it was changed after planning; ${replan}`,
    );
  const reason = store.revoked.get(proposal.keyid);
  if (reason !== undefined)
    return refuse(
      'KEY_REVOKED',
      `the proposal is signed with a revoked key (${reason}): ${replan} with a current key`,
    );
  const person = store.keys.get(proposal.keyid)?.approver;
  if (!person || person.id !== statement.proposer)
    return refuse(
      'PROPOSER_UNPROVEN',
      `the statement names ${statement.proposer} as proposer, but the proposal is signed by ${person ? person.id : `a key the trust store does not list (${proposal.keyid})`}: ${replan}`,
    );
  return {
    ok: true,
    proposer: {
      id: person.id,
      name: person.name,
      fingerprint: proposal.keyid,
      ...(person.jira ? { jira: person.jira } : {}),
    },
  };
}
