import type { Envelope } from './envelope.js';
import { TRUST_NAMESPACE, verifySshsig } from './sshsig.js';
import { isSenior, type TrustStore } from './trust-store.js';

/** How a new approvers.yaml's rotation signatures stand against the pinned version. */
export interface RotationCount {
  /** The pinned version, whose seniors decide. */
  pinnedVersion: number;
  /** How many distinct seniors of the pinned version must sign (its `rotation.signatures`). */
  needed: number;
  /** The distinct seniors of the pinned version whose signature counts, sorted. */
  counted: string[];
  /** Each signature that does not count: whose (an approver id, else the key), and why. */
  uncounted: Array<{ who: string; why: string }>;
}

/**
 * Which signatures over `bytes` count toward a rotation from `pinned`: valid, in the trust
 * namespace, by an unrevoked senior of the pinned version, each senior once. Signatures of people
 * the pinned version does not trust (a senior being added) simply do not count; `candidate`, the
 * version being signed, only names them.
 */
export function countRotationSignatures(
  envelope: Envelope,
  bytes: Uint8Array,
  pinned: TrustStore,
  candidate?: TrustStore,
): RotationCount {
  const counted = new Set<string>();
  const uncounted: RotationCount['uncounted'] = [];
  const v = pinned.version;
  for (const entry of envelope.signatures) {
    const check = verifySshsig(entry.sshsig, bytes, TRUST_NAMESPACE);
    if (!check.ok) {
      uncounted.push({ who: entry.keyid, why: 'the signature does not verify over these bytes' });
      continue;
    }
    const fp = check.sig.publicKey.fingerprint;
    const trusted = pinned.keys.get(fp);
    const who = trusted?.approver.id ?? candidate?.keys.get(fp)?.approver.id ?? fp;
    if (!trusted || !isSenior(trusted.approver))
      uncounted.push({ who, why: `not a senior of version ${v}` });
    else if (pinned.revoked.has(fp))
      uncounted.push({ who, why: `the key ${fp} is revoked in version ${v}` });
    else if (counted.has(who))
      uncounted.push({ who, why: `${who} already counts once (another key of theirs)` });
    else counted.add(who);
  }
  return {
    pinnedVersion: v,
    needed: pinned.data.rotation.signatures,
    counted: [...counted].sort(),
    uncounted,
  };
}
