import { readFile, writeFile } from 'node:fs/promises';
import {
  APPROVERS_PAYLOAD_TYPE,
  addApprover,
  createTrustEnvelope,
  type Envelope,
  initTrust,
  loadTrustedStore,
  type NewApprover,
  parseTrustStore,
  readEnvelope,
  readPinnedStore,
  revokeKey,
  type SshSigner,
  serializeEnvelope,
  signatureFileOf,
  signEnvelope,
  type TrustStore,
} from '@opsbook/approval';
import {
  type Config,
  unreadableFileError,
  ValidationError,
  writeFileAtomic,
} from '@opsbook/schema';

/** What to do when the trust store named by opsbook.yaml is not a file opsbook can read. */
const storeFix =
  "point trustStore in opsbook.yaml at the team's approvers.yaml (a file), or make that file readable";

/**
 * The bytes of this checkout's approvers.yaml, or undefined when it does not exist; a folder, a
 * link loop or a file opsbook may not read is invalid input naming it and the trustStore key.
 */
export async function readTrustStoreBytes(config: Config): Promise<Buffer | undefined> {
  try {
    return await readFile(config.trustStore);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw unreadableFileError(config.trustStore, e, storeFix);
  }
}

async function readStoreText(config: Config): Promise<string> {
  try {
    return await readFile(config.trustStore, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw unreadableFileError(config.trustStore, e, storeFix);
    throw ValidationError.single(
      config.trustStore,
      `cannot read the trust store (${(e as NodeJS.ErrnoException).code}): create approvers.yaml (see the README, section Approvals)`,
      'missing-file',
    );
  }
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

/** `opsbook trust add-approver`: edit approvers.yaml (version + 1); it then needs rotation signatures. */
export async function trustAddApprover(config: Config, approver: NewApprover): Promise<TrustStore> {
  const { text, store } = addApprover(await readStoreText(config), approver, config.trustStore);
  await writeFileAtomic(config.trustStore, text, { mode: 0o644 });
  return store;
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
 * approvers.yaml to approvers.yaml.sig (started afresh when the bytes changed).
 */
export async function trustSign(
  config: Config,
  signer: SshSigner,
): Promise<{ envelope: Envelope; file: string }> {
  const bytes = await readTrustStoreBytes(config);
  if (!bytes) await readStoreText(config);
  parseTrustStore(bytes!, config.trustStore);
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
  return { envelope, file: sigFile };
}
