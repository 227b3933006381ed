import {
  type Approver,
  createSshsig,
  type ProvenPerson,
  parseTrustStore,
  type SshSigner,
  type TrustStore,
  type TrustStorePeople,
  trustStorePeople,
  verifySshsig,
} from '@opsbook/approval';
import { type Config, canonicalJson, didYouMean, UsageError } from '@opsbook/schema';
import type { Inline, Tracker } from '@opsbook/tracker';
import { readTrustStoreBytes } from '../approval/trust.js';
import { runnerErrors } from '../error-codes.js';

/**
 * A person a ticket names: the approvers.yaml entry of the key they signed the step with, never
 * a name from the environment (every write is made by the tracker's bot account).
 */
export interface TicketPerson {
  id: string;
  name: string;
  /** SHA256 fingerprint of the key that proved them. */
  fingerprint: string;
  /** Their tracker account (approvers.yaml `jira`), to assign and mention them. */
  jira?: string;
}

/** The SSHSIG namespace of a ticket step's record: it never passes as an approval, or back. */
export const TICKET_STEP_NAMESPACE = 'opsbook-ticket';

/** A step's signature: the key, and its SSHSIG over the step's canonical JSON without `proof`. */
export interface StepProof {
  keyid: string;
  sshsig: string;
}

export function personOf(
  who: Approver | ProvenPerson | { id: string; name?: string; jira?: string },
  fingerprint: string,
): TicketPerson {
  return {
    id: who.id,
    name: who.name ?? who.id,
    fingerprint,
    ...(who.jira ? { jira: who.jira } : {}),
  };
}

/**
 * The person `store` lists for `signer`'s key, refusing a revoked or unlisted key: whoever opens,
 * asks, proposes or escalates on a ticket is named by their key, as the proposer of a plan is.
 */
export function listedPerson(store: TrustStore, signer: SshSigner, doing: string): TicketPerson {
  const fp = signer.publicKey.fingerprint;
  const reason = store.revoked.get(fp);
  if (reason !== undefined)
    throw new runnerErrors.RefusalError(
      'KEY_REVOKED',
      `your key ${fp} is revoked (${reason}): ${doing} with a current key listed in the trust store`,
    );
  const approver = store.keys.get(fp)?.approver;
  if (!approver)
    throw new runnerErrors.RefusalError(
      'PERSON_UNPROVEN',
      `the key ${fp} is not in the trust store (${store.file}): ${doing} with your own listed key (--key or --agent), or ask the seniors to add you (opsbook trust add-approver --role engineer)`,
    );
  return personOf(approver, fp);
}

/**
 * The engineer behind `signer` as this checkout's approvers.yaml lists them, as `plan` names its
 * proposer (the step's signature can be checked against the pinned trust store later).
 */
export async function engineerOf(
  config: Config,
  signer: SshSigner,
  doing: string,
): Promise<TicketPerson> {
  return listedPerson(await checkoutTrust(config, doing), signer, doing);
}

/** This checkout's approvers.yaml (who is who; the pinned copy decides what may run). */
export async function checkoutTrust(config: Config, doing: string): Promise<TrustStore> {
  const bytes = await readTrustStoreBytes(config);
  if (!bytes)
    throw new runnerErrors.RefusalError(
      'PERSON_UNPROVEN',
      `${config.trustStore} is missing: the ticket names the person the trust store lists for your key, so ${doing} needs it`,
    );
  return parseTrustStore(bytes, config.trustStore);
}

/** Signs a step's record with the person's key (checked at once: an agent cannot hand out a bad one). */
export async function signStep(signer: SshSigner, step: object): Promise<StepProof> {
  const bytes = new TextEncoder().encode(canonicalJson(step));
  const sshsig = await createSshsig(bytes, signer, TICKET_STEP_NAMESPACE);
  if (!verifySshsig(sshsig, bytes, TICKET_STEP_NAMESPACE).ok)
    throw new runnerErrors.RefusalError(
      'PERSON_UNPROVEN',
      `the signature made with ${signer.publicKey.fingerprint} does not verify: check the key or agent and try again`,
    );
  return { keyid: signer.publicKey.fingerprint, sshsig };
}

/**
 * Whether a recorded step was signed by the person it names, as `store` lists them: its proof
 * verifies over the step and is by a key of that person that is not revoked.
 */
export function isProvenStep<T extends { by: { id: string }; proof?: StepProof }>(
  step: T,
  store: TrustStore,
): boolean {
  const { proof, ...rest } = step;
  if (!proof) return false;
  const bytes = new TextEncoder().encode(canonicalJson(rest));
  const check = verifySshsig(proof.sshsig, bytes, TICKET_STEP_NAMESPACE);
  return (
    check.ok &&
    check.sig.publicKey.fingerprint === proof.keyid &&
    !store.revoked.has(proof.keyid) &&
    store.keys.get(proof.keyid)?.approver.id === step.by.id
  );
}

/** Their tracker account: approvers.yaml `jira`, or on the local tracker their id. */
export function accountOf(
  person: { id: string; jira?: string | undefined },
  tracker: Pick<Tracker, 'kind'>,
): string | undefined {
  return person.jira ?? (tracker.kind === 'local' ? person.id : undefined);
}

/**
 * Who an alerts.yaml ownership rule may name on the local tracker: approvers.yaml's ids and
 * tracker accounts (`jira`). Undefined without approvers.yaml, and on Jira, which knows accounts
 * opsbook does not list (there an account it does not know is refused when the ticket is
 * assigned, and `opsbook alerts show` says so), as for `personNamed`.
 */
export async function ownershipPeople(
  config: Config,
  tracker: Pick<Tracker, 'kind'>,
): Promise<TrustStorePeople | undefined> {
  if (tracker.kind !== 'local') return undefined;
  return trustStorePeople(config.trustStore);
}

/** "Eve Engineer (eve, key SHA256:…)": how a comment names who did a step. */
export function personText(p: TicketPerson): string {
  return `${p.name} (${p.id}, key ${p.fingerprint})`;
}

/**
 * The person as a mention (the tracker shows and notifies them) when their account is known,
 * else their name and id as text.
 */
export function mentionOf(
  person: { id: string; name: string; jira?: string | undefined },
  tracker: Pick<Tracker, 'kind'>,
): Inline {
  const account = accountOf(person, tracker);
  return account
    ? { type: 'mention', id: account, text: person.name }
    : { type: 'text', text: `${person.name} (${person.id})` };
}

/**
 * The approvers.yaml entry a command's person option names (by id, or by tracker account).
 * Jira knows accounts opsbook does not list, so an unlisted name passes there; the local tracker
 * has no accounts of its own, so there a name not in approvers.yaml is a typo, refused with the
 * closest id (before, the ticket was assigned to nobody anyone could find).
 */
export function personNamed(
  trust: TrustStore,
  name: string,
  tracker: Pick<Tracker, 'kind'>,
  option: string,
): Approver | undefined {
  const listed = trust.data.approvers.find((a) => a.id === name || a.jira === name);
  if (listed || tracker.kind !== 'local') return listed;
  const ids = trust.data.approvers.map((a) => a.id);
  const near = didYouMean(name, ids);
  throw new UsageError(
    `${option} ${name} is not in ${trust.file}${near ? `: did you mean ${near}?` : '.'} Name a person by their approvers.yaml id (${ids.join(', ')})`,
  );
}
