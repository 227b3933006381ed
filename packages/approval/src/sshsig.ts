import { createHash } from 'node:crypto';
import { parsePublicKeyBlob, SshKeyError, type SshPublicKey } from './ssh-key.js';
import { type SignatureFailure, verifySshSignature } from './ssh-signature.js';
import { SshReader, SshWireError, sshString, sshUint32 } from './ssh-wire.js';

/**
 * OpenSSH SSHSIG (PROTOCOL.sshsig): the format of `ssh-keygen -Y sign`. Implemented here so
 * that opsbook and ssh-keygen interoperate both ways, with node:crypto doing the math.
 */

/** Namespace of approval signatures: a signature for anything else never counts as an approval. */
export const APPROVAL_NAMESPACE = 'opsbook-approval';
/** Namespace of trust store rotation signatures, kept apart from approvals on purpose. */
export const TRUST_NAMESPACE = 'opsbook-approvers';

const MAGIC = Buffer.from('SSHSIG');
const VERSION = 1;
const BEGIN = '-----BEGIN SSH SIGNATURE-----';
const END = '-----END SSH SIGNATURE-----';
/** ssh-keygen wraps the armor at 70 columns. */
const LINE = 70;

export type SshsigHash = 'sha512' | 'sha256';

/** Anything that can produce an SSH wire signature: a key file, an agent, a security key. */
export interface SshSigner {
  publicKey: SshPublicKey;
  /** Sign `data` and return the SSH wire signature (`string alg, string blob[, flags, counter]`). */
  sign(data: Uint8Array, signal?: AbortSignal): Promise<Buffer>;
}

export interface Sshsig {
  publicKey: SshPublicKey;
  namespace: string;
  hashAlgorithm: string;
  /** The SSH wire signature inside the SSHSIG blob. */
  signature: Buffer;
}

export class SshsigFormatError extends Error {
  override readonly name = 'SshsigFormatError';
}

/** The bytes an SSHSIG signature is computed over: never the message itself, only its hash. */
export function sshsigSignedData(namespace: string, hash: SshsigHash, message: Uint8Array): Buffer {
  return Buffer.concat([
    MAGIC,
    sshString(namespace),
    sshString(''),
    sshString(hash),
    sshString(createHash(hash).update(message).digest()),
  ]);
}

export function armorSshsig(blob: Uint8Array): string {
  const b64 = Buffer.from(blob).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += LINE) lines.push(b64.slice(i, i + LINE));
  return `${BEGIN}\n${lines.join('\n')}\n${END}\n`;
}

/** Sign `message` the way `ssh-keygen -Y sign -n <namespace>` does; returns the armored text. */
export async function createSshsig(
  message: Uint8Array,
  signer: SshSigner,
  namespace: string,
  options: { hash?: SshsigHash; signal?: AbortSignal } = {},
): Promise<string> {
  const hash = options.hash ?? 'sha512';
  const signature = await signer.sign(sshsigSignedData(namespace, hash, message), options.signal);
  const blob = Buffer.concat([
    MAGIC,
    sshUint32(VERSION),
    sshString(signer.publicKey.blob),
    sshString(namespace),
    sshString(''),
    sshString(hash),
    sshString(signature),
  ]);
  return armorSshsig(blob);
}

/** Decode the armor strictly: one BEGIN/END pair, base64 lines only, canonical base64. */
export function dearmorSshsig(armored: string): Buffer {
  const lines = armored.replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n');
  if (lines[0] !== BEGIN || lines[lines.length - 1] !== END || lines.length < 3) {
    throw new SshsigFormatError(`the signature must start with '${BEGIN}' and end with '${END}'`);
  }
  const body = lines.slice(1, -1).join('');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) {
    throw new SshsigFormatError(
      'the signature armor holds characters that are not base64, or is truncated',
    );
  }
  const blob = Buffer.from(body, 'base64');
  if (blob.toString('base64') !== body)
    throw new SshsigFormatError('the signature armor is not canonical base64');
  return blob;
}

export function parseSshsig(armored: string): Sshsig {
  const blob = dearmorSshsig(armored);
  try {
    const r = new SshReader(blob);
    if (!r.readBytes(MAGIC.length).equals(MAGIC))
      throw new SshsigFormatError('not an SSHSIG blob (bad magic)');
    const version = r.readUint32();
    if (version !== VERSION) throw new SshsigFormatError(`unsupported SSHSIG version ${version}`);
    const publicKey = parsePublicKeyBlob(r.readString());
    const namespace = r.readText();
    if (r.readString().length !== 0) throw new SshsigFormatError('the reserved field is not empty');
    const hashAlgorithm = r.readText();
    const signature = r.readString();
    r.expectEnd('the SSHSIG blob');
    return { publicKey, namespace, hashAlgorithm, signature };
  } catch (e) {
    if (e instanceof SshsigFormatError || e instanceof SshKeyError) throw e;
    if (e instanceof SshWireError)
      throw new SshsigFormatError(`malformed SSHSIG blob: ${e.message}`);
    throw e;
  }
}

export type SshsigFailure = SignatureFailure | 'armor' | 'namespace' | 'hash';

export type SshsigCheck =
  | { ok: true; sig: Sshsig; flags?: number; counter?: number }
  | { ok: false; failure: SshsigFailure; detail: string; sig?: Sshsig };

/**
 * Verify an armored SSHSIG over `message` in `namespace`, as `ssh-keygen -Y verify` would
 * (but without deciding trust: the caller looks the key up in its own trust store).
 */
export function verifySshsig(armored: string, message: Uint8Array, namespace: string): SshsigCheck {
  let sig: Sshsig;
  try {
    sig = parseSshsig(armored);
  } catch (e) {
    return { ok: false, failure: 'armor', detail: e instanceof Error ? e.message : String(e) };
  }
  if (sig.namespace !== namespace) {
    return {
      ok: false,
      failure: 'namespace',
      detail: `signed for namespace '${sig.namespace}', not '${namespace}'`,
      sig,
    };
  }
  if (sig.hashAlgorithm !== 'sha512' && sig.hashAlgorithm !== 'sha256') {
    return {
      ok: false,
      failure: 'hash',
      detail: `unsupported hash algorithm '${sig.hashAlgorithm}'`,
      sig,
    };
  }
  const signed = sshsigSignedData(namespace, sig.hashAlgorithm, message);
  const check = verifySshSignature(sig.publicKey, signed, sig.signature);
  if (!check.ok) return { ok: false, failure: check.failure, detail: check.detail, sig };
  return {
    ok: true,
    sig,
    ...(check.flags === undefined ? {} : { flags: check.flags, counter: check.counter }),
  };
}
