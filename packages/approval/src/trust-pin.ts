import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatProblem, RefusalError, ValidationError } from '@opsbook/schema';
import { APPROVERS_PAYLOAD_TYPE, readEnvelope } from './envelope.js';
import { TRUST_NAMESPACE, verifySshsig } from './sshsig.js';
import { isSenior, parseTrustStore, type TrustStore } from './trust-store.js';

/** Rotation signatures live next to the trust store: `approvers.yaml` → `approvers.yaml.sig`. */
export function signatureFileOf(file: string): string {
  return `${file}.sig`;
}

/** Where the last accepted trust store is pinned inside the state dir. */
export function pinnedFileOf(stateDir: string): string {
  return path.join(stateDir, 'trust', 'approvers.yaml');
}

async function readOptional(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Write the accepted bytes atomically (rename), in a state dir only its owner can read. */
async function pin(stateDir: string, bytes: Uint8Array, signature?: Uint8Array): Promise<void> {
  const target = pinnedFileOf(stateDir);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
  const write = async (file: string, data: Uint8Array) => {
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, data, { mode: 0o600 });
    await rename(tmp, file);
  };
  if (signature) await write(signatureFileOf(target), signature);
  await write(target, bytes);
}

/** The pinned trust store, or undefined before `opsbook trust init`. */
export async function readPinnedStore(stateDir: string): Promise<TrustStore | undefined> {
  const file = pinnedFileOf(stateDir);
  const bytes = await readOptional(file);
  if (!bytes) return undefined;
  try {
    return parseTrustStore(bytes, file);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    throw new RefusalError(
      'TRUST_PIN_INVALID',
      `the pinned trust store ${file} is damaged (${e.problems.map(formatProblem).join('; ')}): run opsbook trust init --force after checking approvers.yaml with the seniors`,
    );
  }
}

/**
 * `opsbook trust init`: pin `file` as the trust store, explicitly (never on first use). Pinning
 * the same bytes again is a no-op; replacing a different pinned store needs `force`, because that
 * bypasses rotation signatures. The caller shows `store.digest` for out-of-band confirmation.
 */
export async function initTrust(
  stateDir: string,
  file: string,
  options: { force?: boolean } = {},
): Promise<{ store: TrustStore; replaced?: TrustStore }> {
  const bytes = await readOptional(file);
  if (!bytes)
    throw ValidationError.single(
      file,
      'trust store not found: pass the path of approvers.yaml',
      'not-found',
    );
  const store = parseTrustStore(bytes, file);
  const previous = await readPinnedStore(stateDir);
  if (previous && !previous.bytes.equals(bytes) && !options.force) {
    throw new RefusalError(
      'TRUST_ALREADY_INITIALISED',
      `a trust store is already pinned (version ${previous.version}, ${previous.digest}): new versions are accepted with rotation signatures (opsbook trust sign); use --force only to start over`,
    );
  }
  await pin(stateDir, bytes);
  return previous && !previous.bytes.equals(bytes) ? { store, replaced: previous } : { store };
}

export interface TrustLoad {
  store: TrustStore;
  /** Set when this call accepted a new version signed by the pinned one's seniors. */
  rotatedFrom?: number;
}

/**
 * The trust store to verify approvals with: the pinned one, or a newer `file` whose rotation
 * signatures (`file.sig`) carry the pinned version's threshold of senior signatures; the newer
 * one is then pinned. Anything else is refused with a code, never silently accepted.
 */
export async function loadTrustedStore(stateDir: string, file: string): Promise<TrustLoad> {
  const pinned = await readPinnedStore(stateDir);
  if (!pinned) {
    throw new RefusalError(
      'TRUST_NOT_INITIALISED',
      `no trust store is pinned in ${stateDir}: check ${file} with your seniors, then run opsbook trust init`,
    );
  }
  const bytes = await readOptional(file);
  if (!bytes)
    throw new RefusalError(
      'TRUST_STORE_MISSING',
      `${file} is missing: restore it from the repository (pinned version ${pinned.version})`,
    );
  if (bytes.equals(pinned.bytes)) return { store: pinned };
  const candidate = parseTrustStore(bytes, file);
  if (candidate.version < pinned.version) {
    throw new RefusalError(
      'TRUST_STORE_ROLLBACK',
      `${file} is version ${candidate.version}, older than the pinned version ${pinned.version}: restore the current approvers.yaml; an older trust store may list revoked keys`,
    );
  }
  if (candidate.version === pinned.version) {
    throw new RefusalError(
      'TRUST_STORE_UNSIGNED',
      `${file} differs from the pinned version ${pinned.version} but has the same version: revert the edit, or raise version and collect rotation signatures (opsbook trust sign)`,
    );
  }
  const sigBytes = await readOptional(signatureFileOf(file));
  if (!sigBytes) {
    throw new RefusalError(
      'TRUST_STORE_UNSIGNED',
      `${file} version ${candidate.version} has no rotation signatures (${signatureFileOf(file)}): ${pinned.data.rotation.signatures} senior(s) of version ${pinned.version} must sign it with opsbook trust sign`,
    );
  }
  const signers = rotationSigners(sigBytes, bytes, pinned, signatureFileOf(file));
  if (signers.length < pinned.data.rotation.signatures) {
    throw new RefusalError(
      'TRUST_THRESHOLD_NOT_MET',
      `${file} version ${candidate.version} is signed by ${signers.join(', ') || 'no senior'} of version ${pinned.version}; ${pinned.data.rotation.signatures} are required: ask more seniors to run opsbook trust sign`,
    );
  }
  await pin(stateDir, bytes, sigBytes);
  return { store: candidate, rotatedFrom: pinned.version };
}

/** Distinct seniors of the pinned store with a valid, unrevoked signature over exactly `bytes`. */
function rotationSigners(
  sigBytes: Buffer,
  bytes: Buffer,
  pinned: TrustStore,
  sigFile: string,
): string[] {
  const { parsed, problems } = readEnvelope(sigBytes, {
    file: sigFile,
    payloadType: APPROVERS_PAYLOAD_TYPE,
  });
  if (!parsed) {
    throw new RefusalError(
      'TRUST_SIGNATURE_INVALID',
      `${problems.map(formatProblem).join('; ')}: create the signatures again with opsbook trust sign`,
    );
  }
  if (!parsed.payload.equals(bytes)) {
    throw new RefusalError(
      'TRUST_SIGNATURE_MISMATCH',
      `${sigFile} signs other bytes than the current approvers.yaml: it was edited after signing; collect the signatures again`,
    );
  }
  const seniors = new Set<string>();
  // Signatures from people the pinned version does not trust (e.g. a senior being added) simply do not count.
  for (const entry of parsed.envelope.signatures) {
    const check = verifySshsig(entry.sshsig, bytes, TRUST_NAMESPACE);
    if (!check.ok) continue;
    const fp = check.sig.publicKey.fingerprint;
    const trusted = pinned.keys.get(fp);
    if (trusted && isSenior(trusted.approver) && !pinned.revoked.has(fp))
      seniors.add(trusted.approver.id);
  }
  return [...seniors].sort();
}
