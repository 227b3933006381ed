import { loadTrustedStore, type SshSigner } from '@opsbook/approval';
import type { Config } from '@opsbook/schema';
import { seniorOf } from './ticket-approve.js';
import { personOf, type StepProof, signStep, type TicketPerson } from './ticket-people.js';

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
