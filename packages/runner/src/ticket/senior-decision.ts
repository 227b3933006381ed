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
 * What a senior decision decides on, as signed with it (an alert re-grade: its kind, incident,
 * ticket, and the grade it re-grades from): each field must be the decision's, so a signed
 * decision copied onto another subject proves nothing there. A kind at least.
 */
export type DecisionSubject = Readonly<{ kind: string } & Record<string, string | undefined>>;

/** Whether `decision` carries each field of `about` as it is (absent where that is undefined). */
function isAbout(decision: object, about: DecisionSubject): boolean {
  return Object.entries(about).every(([k, v]) => (decision as Record<string, unknown>)[k] === v);
}

/**
 * Whether a recorded senior decision (an alert re-grade) was signed by the senior it names, on
 * the subject it is recorded for: it carries `about`, its proof verifies over it, by a current
 * key of that person in `store`, who is a senior there.
 */
export function isProvenSeniorDecision<T extends { by?: { id: string }; proof?: StepProof }>(
  decision: T,
  about: DecisionSubject,
  store: TrustStore,
): boolean {
  const { by, proof } = decision;
  if (!by || !proof || !isAbout(decision, about)) return false;
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
export function seniorDecisionChecker(
  config: Config,
): (decision: Decision, about: DecisionSubject) => Promise<boolean> {
  let store: Promise<TrustStore | Error> | undefined;
  let readAt = 0;
  return async (decision, about) => {
    if (!store || Date.now() - readAt > STORE_KEPT_MS) {
      store = pinnedStore(config);
      readAt = Date.now();
    }
    const trusted = await store;
    return !(trusted instanceof Error) && isProvenSeniorDecision(decision, about, trusted);
  };
}

/**
 * Why each of `decisions` (with what it is recorded for) is not proven (`alerts show`): made for
 * another subject (another incident, ticket or grade, or by an older opsbook that did not sign
 * one), no valid signature of a listed senior, or, where this machine has no pin to check
 * against, that it could not be checked.
 */
export async function unprovenDecisions<T extends Decision>(
  config: Config,
  decisions: readonly { decision: T; about: DecisionSubject }[],
): Promise<Map<T, string>> {
  const why = new Map<T, string>();
  if (decisions.length === 0) return why;
  const trusted = await pinnedStore(config);
  for (const { decision: d, about } of decisions)
    if (!isAbout(d, about))
      why.set(
        d,
        'UNPROVEN: not signed for this incident, ticket and earlier grade; not sent to the ticket (REGRADE_UNPROVEN)',
      );
    else if (trusted instanceof Error) why.set(d, `not checked here: ${trusted.message}`);
    else if (!isProvenSeniorDecision(d, about, trusted))
      why.set(
        d,
        'UNPROVEN: no valid signature of a listed senior; not sent to the ticket (REGRADE_UNPROVEN)',
      );
  return why;
}
