import { lstat, readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import {
  formatProblem,
  MACHINE_TRUST_DIR,
  makeDirectory,
  pathWeakness,
  RefusalError,
  unreadableFileError,
  ValidationError,
  writeFileAtomic,
} from '@opsbook/schema';
import { APPROVERS_PAYLOAD_TYPE, readEnvelope } from './envelope.js';
import { approvalErrors } from './error-codes.js';
import { countRotationSignatures } from './rotation-signatures.js';
import { parseTrustStore, type TrustStore } from './trust-store.js';

/** Rotation signatures live next to the trust store: `approvers.yaml` → `approvers.yaml.sig`. */
export function signatureFileOf(file: string): string {
  return `${file}.sig`;
}

/** The pinned copy of approvers.yaml inside the pin folder. */
export function pinnedFileOf(pinDir: string): string {
  return path.join(pinDir, 'approvers.yaml');
}

/** The effective user id of this process (undefined where the platform has none). */
function effectiveUid(): number | undefined {
  return process.geteuid?.();
}

/**
 * Why `target` (the pin or the folder it will go in) could be changed by someone other than root,
 * seen by the user `uid`, or undefined when it cannot: it and every folder above it must belong to
 * root and be writable by no group or other (a sticky folder such as /tmp is fine above it, since
 * others cannot rename what they do not own there). Not the user's own, nor another account's
 * that could be an accomplice's. For root everything is changeable anyway: root is outside the
 * threat model (README, "Who can change what").
 */
export async function pinWeakness(
  target: string,
  uid: number | undefined = effectiveUid(),
): Promise<string | undefined> {
  if (uid === undefined || uid === 0) return undefined;
  const weak = await pathWeakness(await realpath(target), [0]);
  if (!weak) return undefined;
  if ('mode' in weak)
    return `${weak.at} is writable by its group or by everyone (mode ${weak.mode.toString(8)})`;
  return weak.owner === uid
    ? `${weak.at} belongs to you (uid ${uid}), so you could rewrite the pin`
    : `${weak.at} belongs to uid ${weak.owner}, not root`;
}

async function nearestExisting(dir: string): Promise<string> {
  for (let current = dir; ; current = path.dirname(current)) {
    try {
      await lstat(current);
      return current;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(current) === current)
        throw e;
    }
  }
}

/**
 * Where the pin is may be chosen (OPSBOOK_TRUST_DIR: a container, a test harness) by root only:
 * for anyone else an environment variable would pick which seniors count.
 */
function refuseChosenPin(pinDir: string, uid: number | undefined = effectiveUid()): void {
  if (uid === undefined || uid === 0 || path.resolve(pinDir) === MACHINE_TRUST_DIR) return;
  throw new approvalErrors.RefusalError(
    'TRUST_PIN_UNPROTECTED',
    `the trust pin is set to ${pinDir} (OPSBOOK_TRUST_DIR), but only root may move it: unset OPSBOOK_TRUST_DIR; this machine's pin is ${MACHINE_TRUST_DIR}`,
  );
}

async function refuseWeakPin(target: string, what: string): Promise<void> {
  const weakness = await pinWeakness(target);
  if (weakness === undefined) return;
  throw new approvalErrors.RefusalError(
    'TRUST_PIN_UNPROTECTED',
    `${what}: ${weakness}. A pin that the person who runs can change protects nothing: have root pin the trust store with sudo opsbook trust init (into ${MACHINE_TRUST_DIR}), and unset OPSBOOK_TRUST_DIR`,
  );
}

/**
 * The bytes of `file`, or undefined when it does not exist. Anything else that keeps it from being
 * read (a folder, a link loop, no permission) is the user's to fix: invalid input naming the file.
 */
async function readOptional(file: string, fix: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw unreadableFileError(file, e, fix);
  }
}

/** What to do when the trust store named by opsbook.yaml cannot be read. */
const storeFix =
  "point trustStore in opsbook.yaml at the team's approvers.yaml (a file), or make that file readable";

/**
 * The bytes of the trust store `file` (a checkout's approvers.yaml), or undefined when there is
 * none; a folder, a link loop or a file that may not be read is invalid input naming it.
 */
export function readTrustStoreFile(file: string): Promise<Buffer | undefined> {
  return readOptional(file, storeFix);
}

/** The same for its rotation signatures beside it. */
function signatureFix(file: string): string {
  return `${signatureFileOf(file)} must be the file opsbook trust sign writes: move what is there out of the way, or make it readable`;
}

function readSignatures(file: string): Promise<Buffer | undefined> {
  return readOptional(signatureFileOf(file), signatureFix(file));
}

/**
 * Write the accepted bytes atomically (rename). The pin is readable by everyone (every user of the
 * machine verifies against it) and writable only by its owner, root.
 */
async function pin(pinDir: string, bytes: Uint8Array, signature?: Uint8Array): Promise<void> {
  const target = pinnedFileOf(pinDir);
  refuseChosenPin(pinDir);
  await refuseWeakPin(await nearestExisting(pinDir), `cannot pin the trust store in ${pinDir}`);
  try {
    await makeDirectory(pinDir, { mode: 0o755 });
    if (signature) await writeFileAtomic(signatureFileOf(target), signature, { mode: 0o644 });
    await writeFileAtomic(target, bytes, { mode: 0o644 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw e;
    throw new approvalErrors.RefusalError(
      'TRUST_PIN_READONLY',
      `cannot write the trust pin in ${pinDir} (${code}): it belongs to root; pin it as root: sudo opsbook trust init`,
    );
  }
}

/** The pinned trust store, or undefined before `opsbook trust init`. Refused when unprotected. */
export async function readPinnedStore(pinDir: string): Promise<TrustStore | undefined> {
  refuseChosenPin(pinDir);
  const file = pinnedFileOf(pinDir);
  let real: string;
  try {
    real = await realpath(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  // Checked and then read through the resolved path, whose every folder the runner cannot
  // change: a link swapped between the check and the read cannot lead elsewhere.
  await refuseWeakPin(real, `the trust pin ${file} is not protected`);
  const bytes = await readFile(real);
  try {
    return parseTrustStore(bytes, file);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    throw new approvalErrors.RefusalError(
      'TRUST_PIN_INVALID',
      `the pinned trust store ${file} is damaged (${e.problems.map(formatProblem).join('; ')}): root must remove it and pin approvers.yaml again after checking it with the seniors`,
    );
  }
}

/**
 * `opsbook trust init`: pin `file` as the trust store, explicitly (never on first use). Pinning
 * the same bytes again is a no-op. A different pinned store is replaced only with `force` AND the
 * rotation signatures its seniors put in `file.sig`: nobody without them, not even the person who
 * runs, can swap the seniors. (Root can delete the pin; root is outside the threat model.) The
 * caller shows `store.digest` for out-of-band confirmation.
 */
export async function initTrust(
  pinDir: string,
  file: string,
  options: { force?: boolean } = {},
): Promise<{ store: TrustStore; replaced?: TrustStore }> {
  const bytes = await readOptional(file, storeFix);
  if (!bytes)
    throw ValidationError.single(
      file,
      'trust store not found: pass the path of approvers.yaml',
      'not-found',
    );
  const store = parseTrustStore(bytes, file);
  const previous = await readPinnedStore(pinDir);
  if (previous?.bytes.equals(bytes)) return { store };
  if (previous && !options.force) {
    throw new approvalErrors.RefusalError(
      'TRUST_ALREADY_INITIALISED',
      `a trust store is already pinned in ${pinDir} (version ${previous.version}, ${previous.digest}): a new version is accepted only with rotation signatures of its seniors (opsbook trust sign), then opsbook trust init --force or the next run takes it`,
    );
  }
  if (previous) {
    const { store: rotated } = await acceptRotation(previous, bytes, file);
    await pin(pinDir, bytes, await readSignatures(file));
    return { store: rotated, replaced: previous };
  }
  await pin(pinDir, bytes);
  return { store };
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
export async function loadTrustedStore(pinDir: string, file: string): Promise<TrustLoad> {
  const pinned = await readPinnedStore(pinDir);
  if (!pinned) {
    throw new approvalErrors.RefusalError(
      'TRUST_NOT_INITIALISED',
      `no trust store is pinned on this machine (${pinnedFileOf(pinDir)}): check ${file} with your seniors, then pin it as root: sudo opsbook trust init${path.resolve(pinDir) === MACHINE_TRUST_DIR ? '' : ` (OPSBOOK_TRUST_DIR names ${pinDir}: if it is set by mistake, unset it to use this machine's pin in ${MACHINE_TRUST_DIR})`}`,
    );
  }
  const bytes = await readOptional(file, storeFix);
  if (!bytes)
    throw new approvalErrors.RefusalError(
      'TRUST_STORE_MISSING',
      `${file} is missing: restore it from the repository (pinned version ${pinned.version})`,
    );
  if (bytes.equals(pinned.bytes)) return { store: pinned };
  const accepted = await acceptRotation(pinned, bytes, file);
  // Move the pin on when this user may (root, or the pin's owner); otherwise the rotation counts
  // for this run only, and root moves the pin with opsbook trust init --force.
  await pin(pinDir, bytes, await readSignatures(file)).catch((e: unknown) => {
    if (!(e instanceof RefusalError)) throw e;
  });
  return accepted;
}

/**
 * A newer approvers.yaml (`bytes`) is accepted only with the pinned version's threshold of
 * senior rotation signatures over exactly these bytes (`file.sig`); anything else is refused
 * with a code, never silently accepted.
 */
async function acceptRotation(pinned: TrustStore, bytes: Buffer, file: string): Promise<TrustLoad> {
  const candidate = parseTrustStore(bytes, file);
  if (candidate.version < pinned.version) {
    throw new approvalErrors.RefusalError(
      'TRUST_STORE_ROLLBACK',
      `${file} is version ${candidate.version}, older than the pinned version ${pinned.version}: restore the current approvers.yaml; an older trust store may list revoked keys`,
    );
  }
  if (candidate.version === pinned.version) {
    throw new approvalErrors.RefusalError(
      'TRUST_STORE_UNSIGNED',
      `${file} differs from the pinned version ${pinned.version} but has the same version: revert the edit, or raise version and collect rotation signatures (opsbook trust sign)`,
    );
  }
  const sigBytes = await readSignatures(file);
  if (!sigBytes) {
    throw new approvalErrors.RefusalError(
      'TRUST_STORE_UNSIGNED',
      `${file} version ${candidate.version} has no rotation signatures (${signatureFileOf(file)}): ${pinned.data.rotation.signatures} senior(s) of version ${pinned.version} must sign it with opsbook trust sign`,
    );
  }
  const signers = rotationSigners(sigBytes, bytes, pinned, signatureFileOf(file));
  if (signers.length < pinned.data.rotation.signatures) {
    throw new approvalErrors.RefusalError(
      'TRUST_THRESHOLD_NOT_MET',
      `${file} version ${candidate.version} is signed by ${signers.join(', ') || 'no senior'} of version ${pinned.version}; ${pinned.data.rotation.signatures} are required: ask more seniors to run opsbook trust sign`,
    );
  }
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
    throw new approvalErrors.RefusalError(
      'TRUST_SIGNATURE_INVALID',
      `${problems.map(formatProblem).join('; ')}: create the signatures again with opsbook trust sign`,
    );
  }
  if (!parsed.payload.equals(bytes)) {
    throw new approvalErrors.RefusalError(
      'TRUST_SIGNATURE_MISMATCH',
      `${sigFile} signs other bytes than the current approvers.yaml: it was edited after signing; collect the signatures again`,
    );
  }
  return countRotationSignatures(parsed.envelope, bytes, pinned).counted;
}
