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

/** A recorded senior decision, as `isProvenSeniorDecision` reads it. */
type Decision = { by?: { id: string }; proof?: StepProof };

/** The pinned trust store, or why there is none to check against. */
async function pinnedStore(config: Config): Promise<TrustStore | Error> {
  return loadTrustedStore(config.trustPinDir, config.trustStore).then(
    (t) => t.store,
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
}

/** How long a checker keeps the pinned store it read (a long-running `alerts serve`). */
const STORE_KEPT_MS = 60_000;

/**
 * A checker of recorded senior decisions against the pinned trust store, read when the first
 * decision is checked and again at most once a minute after (so a moved pin, a revocation,
 * reaches a long-running `alerts serve`); none can be proven where the store cannot be read.
 */
export function seniorDecisionChecker(config: Config): (decision: Decision) => Promise<boolean> {
  let store: Promise<TrustStore | Error> | undefined;
  let readAt = 0;
  return async (decision) => {
    if (!store || Date.now() - readAt > STORE_KEPT_MS) {
      store = pinnedStore(config);
      readAt = Date.now();
    }
    const trusted = await store;
    return !(trusted instanceof Error) && isProvenSeniorDecision(decision, trusted);
  };
}

/**
 * Why each of `decisions` is not proven (`alerts show`): no valid signature of a listed senior,
 * or, where this machine has no pin to check against, that it could not be checked.
 */
export async function unprovenDecisions<T extends Decision>(
  config: Config,
  decisions: readonly T[],
): Promise<Map<T, string>> {
  const why = new Map<T, string>();
  if (decisions.length === 0) return why;
  const trusted = await pinnedStore(config);
  for (const d of decisions)
    if (trusted instanceof Error) why.set(d, `not checked here: ${trusted.message}`);
    else if (!isProvenSeniorDecision(d, trusted))
      why.set(
        d,
        'UNPROVEN: no valid signature of a listed senior; not sent to the ticket (REGRADE_UNPROVEN)',
      );
  return why;
}
