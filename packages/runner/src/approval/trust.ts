import { readFile, writeFile } from 'node:fs/promises';
import {
  APPROVERS_PAYLOAD_TYPE,
  addApprover,
  countRotationSignatures,
  createTrustEnvelope,
  type Envelope,
  initTrust,
  loadTrustedStore,
  type NewApprover,
  newTrustStore,
  parseTrustStore,
  type RotationCount,
  readEnvelope,
  readPinnedStore,
  readTrustStoreFile,
  revokeKey,
  type SshSigner,
  serializeEnvelope,
  signatureFileOf,
  signEnvelope,
  type TrustStore,
} from '@opsbook/approval';
import { type Config, isOpsbookError, ValidationError, writeFileAtomic } from '@opsbook/schema';

/**
 * The bytes of this checkout's approvers.yaml, or undefined when it does not exist; a folder, a
 * link loop or a file opsbook may not read is invalid input naming it and the trustStore key.
 */
export function readTrustStoreBytes(config: Config): Promise<Buffer | undefined> {
  return readTrustStoreFile(config.trustStore);
}

/** How a team starts approvers.yaml: the command that creates it with its first senior. */
export const FIRST_SENIOR =
  'opsbook trust add-approver --id ID --name NAME --role senior --key-file KEY.pub';

async function readStoreText(config: Config): Promise<string> {
  const bytes = await readTrustStoreBytes(config);
  if (!bytes)
    throw ValidationError.single(
      config.trustStore,
      `cannot read the trust store (ENOENT): create it with its first senior, ${FIRST_SENIOR} (README, section Approvals)`,
      'missing-file',
    );
  return bytes.toString('utf8');
}

/** `opsbook trust init`: pin approvers.yaml explicitly (first use is never silent). */
export function trustInit(
  config: Config,
  force = false,
): Promise<{ store: TrustStore; replaced?: TrustStore }> {
  return initTrust(config.trustPinDir, config.trustStore, { force });
}

/** `opsbook trust show`: the pinned store, and the file's state against it. */
export async function trustShow(
  config: Config,
): Promise<{ pinned?: TrustStore; file?: TrustStore; accepted?: TrustStore; error?: unknown }> {
  const pinned = await readPinnedStore(config.trustPinDir);
  const text = await readTrustStoreBytes(config);
  const file = text ? parseTrustStore(text, config.trustStore) : undefined;
  try {
    const { store } = await loadTrustedStore(config.trustPinDir, config.trustStore);
    return { ...(pinned ? { pinned } : {}), ...(file ? { file } : {}), accepted: store };
  } catch (error) {
    return { ...(pinned ? { pinned } : {}), ...(file ? { file } : {}), error };
  }
}

/**
 * `opsbook trust add-approver`: edit approvers.yaml (version + 1), which then needs rotation
 * signatures; or, where there is none yet, create its version 1 with this senior (`created`),
 * which needs none: nothing is pinned yet, and `trust init` pins it explicitly.
 */
export async function trustAddApprover(
  config: Config,
  approver: NewApprover,
): Promise<{ store: TrustStore; created: boolean; pinned: boolean }> {
  const existing = await readTrustStoreBytes(config);
  const { text, store } = existing
    ? addApprover(existing.toString('utf8'), approver, config.trustStore)
    : newTrustStore(approver, config.trustStore);
  // A new file only where none is: never over one made meanwhile.
  if (existing) await writeFileAtomic(config.trustStore, text, { mode: 0o644 });
  else await writeNewFile(config.trustStore, text);
  // Whether a version is pinned on this machine, for what to do next (a damaged pin counts).
  const pinned = await readPinnedStore(config.trustPinDir).then(
    (p) => p !== undefined,
    () => true,
  );
  return { store, created: !existing, pinned };
}

async function writeNewFile(file: string, text: string): Promise<void> {
  try {
    await writeFile(file, text, { mode: 0o644, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    throw ValidationError.single(
      file,
      'was created by someone else meanwhile: run opsbook trust add-approver again to add to it',
      'trust-store-created-meanwhile',
    );
  }
}

/** `opsbook trust revoke`: list the key as revoked (version + 1); it then needs rotation signatures. */
export async function trustRevoke(
  config: Config,
  fingerprint: string,
  reason: string,
): Promise<TrustStore> {
  const { text, store } = revokeKey(
    await readStoreText(config),
    fingerprint,
    reason,
    config.trustStore,
  );
  await writeFileAtomic(config.trustStore, text, { mode: 0o644 });
  return store;
}

/**
 * `opsbook trust sign`: add this senior's rotation signature over the exact bytes of
 * approvers.yaml to approvers.yaml.sig (started afresh when the bytes changed). `rotation` says
 * which of the file's signatures count toward the pinned version's threshold (absent when no
 * version is pinned here): a signature is added whoever makes it, but only seniors of the pinned
 * version move the pin.
 */
export async function trustSign(
  config: Config,
  signer: SshSigner,
): Promise<{
  envelope: Envelope;
  file: string;
  version: number;
  rotation?: RotationCount;
  /** Why the pin here could not be read (unprotected, damaged): nothing was counted. */
  pinRefused?: string;
}> {
  const bytes = await readTrustStoreBytes(config);
  if (!bytes) await readStoreText(config);
  const candidate = parseTrustStore(bytes!, config.trustStore);
  const sigFile = signatureFileOf(config.trustStore);
  let envelope = createTrustEnvelope(bytes!);
  const existing = await readFile(sigFile).catch(() => undefined);
  if (existing) {
    const { parsed } = readEnvelope(existing, {
      file: sigFile,
      payloadType: APPROVERS_PAYLOAD_TYPE,
    });
    if (parsed?.payload.equals(bytes!)) envelope = parsed.envelope;
  }
  envelope = await signEnvelope(envelope, signer);
  await writeFile(sigFile, serializeEnvelope(envelope));
  // The signature stands whatever the pin here says; a pin this machine cannot trust (or none)
  // only means the count is left to the runners, whose pin decides.
  const pinned = await readPinnedStore(config.trustPinDir).catch((e: unknown) => {
    if (isOpsbookError(e) && e.kind === 'refused') return e;
    throw e;
  });
  return {
    envelope,
    file: sigFile,
    version: candidate.version,
    ...(pinned instanceof Error
      ? { pinRefused: pinned.message }
      : pinned
        ? { rotation: countRotationSignatures(envelope, bytes!, pinned, candidate) }
        : {}),
  };
}
