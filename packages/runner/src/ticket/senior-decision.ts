import { isSenior, loadTrustedStore, type SshSigner, type TrustStore } from '@opsbook/approval';
import type { Config } from '@opsbook/schema';
import { seniorOf } from './ticket-approve.js';
import {
  isProvenStep,
  personOf,
  type StepProof,
  signStep,
  type TicketPerson,
} from './ticket-people.js';

/**
 * A senior's decision outside a plan (re-grading an alert incident): the person is the senior
 * the pinned trust store lists for the signer's key (never a name from the environment), and
 * the record carries their SSHSIG over it (namespace opsbook-ticket), as ticket steps do.
 * Refuses an unlisted, revoked or non-senior key.
 */
export async function signSeniorDecision<T extends object>(
  config: Config,
  signer: SshSigner,
  decision: (by: TicketPerson) => T,
): Promise<T & { by: TicketPerson; proof: StepProof }> {
  const { store } = await loadTrustedStore(config.trustPinDir, config.trustStore);
  const by = personOf(seniorOf(store, signer), signer.publicKey.fingerprint);
  const record = { ...decision(by), by };
  return { ...record, proof: await signStep(signer, record) };
}

/**
 * Whether a recorded senior decision (an alert re-grade) was signed by the senior it names: its
 * proof verifies over it, by a current key of that person in `store`, who is a senior there.
 */
export function isProvenSeniorDecision<T extends { by?: { id: string }; proof?: StepProof }>(
  decision: T,
  store: TrustStore,
): boolean {
  const { by, proof } = decision;
  if (!by || !proof) return false;
  if (!isProvenStep({ ...decision, by, proof }, store)) return false;
  const approver = store.keys.get(proof.keyid)?.approver;
  return approver !== undefined && isSenior(approver);
}

/**
 * A checker of recorded senior decisions against the pinned trust store, read once when the
 * first decision is checked; none can be proven where the store cannot be read (no pin).
 */
export function seniorDecisionChecker(
  config: Config,
): (decision: { by?: { id: string }; proof?: StepProof }) => Promise<boolean> {
  let store: Promise<TrustStore | undefined> | undefined;
  return async (decision) => {
    store ??= loadTrustedStore(config.trustPinDir, config.trustStore).then(
      (t) => t.store,
      () => undefined,
    );
    const trusted = await store;
    return trusted !== undefined && isProvenSeniorDecision(decision, trusted);
  };
}
