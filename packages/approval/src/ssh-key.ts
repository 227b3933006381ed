import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { SshReader, SshWireError } from './ssh-wire.js';

/** The OpenSSH public key types opsbook accepts for approvals. DSA is long dead. */
export const sshKeyTypes = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;
export type SshKeyType = (typeof sshKeyTypes)[number];

/** RSA keys shorter than this are refused: they no longer protect anything. */
export const MIN_RSA_BITS = 2048;

/** An OpenSSH public key, parsed and ready for node:crypto. */
export interface SshPublicKey {
  type: SshKeyType;
  /** The key in SSH wire format: what fingerprints and SSHSIG blobs are made of. */
  blob: Buffer;
  /** `SHA256:<base64 without padding>`, exactly as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  comment: string;
  /** The key for node:crypto's verify(). */
  keyObject: KeyObject;
  /** For `sk-` (FIDO security key) keys: the application string, usually `ssh:`. */
  application?: string;
  /** For ECDSA keys: the curve name as SSH writes it. */
  curve?: 'nistp256' | 'nistp384' | 'nistp521';
  /** For RSA keys: the modulus size. */
  bits?: number;
}

/** A key line or blob that opsbook cannot use; the message says why. */
export class SshKeyError extends Error {
  override readonly name = 'SshKeyError';
}

const curves = {
  nistp256: { jwk: 'P-256', size: 32 },
  nistp384: { jwk: 'P-384', size: 48 },
  nistp521: { jwk: 'P-521', size: 66 },
} as const;

export function fingerprintOf(blob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** Parse a public key from its SSH wire blob; refuses unknown types, bad points and weak RSA. */
export function parsePublicKeyBlob(blob: Uint8Array, comment = ''): SshPublicKey {
  const bytes = Buffer.from(blob);
  try {
    const r = new SshReader(bytes);
    const type = r.readText();
    if (!(sshKeyTypes as readonly string[]).includes(type)) {
      throw new SshKeyError(
        type === 'ssh-dss'
          ? 'DSA keys are not accepted: generate an ed25519 key (ssh-keygen -t ed25519)'
          : `unsupported key type '${type}': use ed25519, ecdsa, rsa (≥ ${MIN_RSA_BITS} bits) or a FIDO sk- key`,
      );
    }
    const base = {
      type: type as SshKeyType,
      blob: bytes,
      fingerprint: fingerprintOf(bytes),
      comment,
    };
    const parsed = readKeyMaterial(r, base.type);
    r.expectEnd('the public key');
    return { ...base, ...parsed };
  } catch (e) {
    if (e instanceof SshKeyError) throw e;
    if (e instanceof SshWireError) throw new SshKeyError(`malformed public key: ${e.message}`);
    throw new SshKeyError(`unusable public key: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function readKeyMaterial(
  r: SshReader,
  type: SshKeyType,
): Omit<SshPublicKey, 'type' | 'blob' | 'fingerprint' | 'comment'> {
  if (type === 'ssh-ed25519' || type === 'sk-ssh-ed25519@openssh.com') {
    const pk = r.readString();
    if (pk.length !== 32)
      throw new SshKeyError(`ed25519 public key must be 32 bytes, not ${pk.length}`);
    const keyObject = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: b64url(pk) },
      format: 'jwk',
    });
    return type === 'ssh-ed25519' ? { keyObject } : { keyObject, application: readApplication(r) };
  }
  if (type === 'ssh-rsa') {
    const e = r.readPositiveMpint();
    const n = r.readPositiveMpint();
    const bits = n.length === 0 ? 0 : (n.length - 1) * 8 + (32 - Math.clz32(n[0] as number));
    if (bits < MIN_RSA_BITS)
      throw new SshKeyError(
        `RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required: generate an ed25519 key`,
      );
    const keyObject = createPublicKey({
      key: { kty: 'RSA', n: b64url(n), e: b64url(e) },
      format: 'jwk',
    });
    return { keyObject, bits };
  }
  const curveName = r.readText();
  const expected = type.startsWith('sk-') ? 'nistp256' : type.slice('ecdsa-sha2-'.length);
  if (curveName !== expected) throw new SshKeyError(`key type ${type} names curve '${curveName}'`);
  const curve = curves[curveName as keyof typeof curves];
  const q = r.readString();
  if (q.length !== 1 + 2 * curve.size || q[0] !== 4)
    throw new SshKeyError('ECDSA public point is not an uncompressed point of its curve');
  const jwk = {
    kty: 'EC',
    crv: curve.jwk,
    x: b64url(q.subarray(1, 1 + curve.size)),
    y: b64url(q.subarray(1 + curve.size)),
  };
  const keyObject = createPublicKey({ key: jwk, format: 'jwk' });
  const base = { keyObject, curve: curveName as keyof typeof curves };
  return type.startsWith('sk-') ? { ...base, application: readApplication(r) } : base;
}

function readApplication(r: SshReader): string {
  const app = r.readString().toString('utf8');
  if (!app.startsWith('ssh:'))
    throw new SshKeyError(`security key application '${app}' does not start with 'ssh:'`);
  return app;
}

/**
 * Parse one OpenSSH public key line: `<type> <base64> [comment]`, as in id_ed25519.pub or
 * authorized_keys without options. The type word must agree with the blob.
 */
export function parsePublicKeyLine(line: string): SshPublicKey {
  const m = /^\s*(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s+(.*?))?\s*$/.exec(line);
  if (!m) {
    throw new SshKeyError(
      'not an OpenSSH public key line: expected "<type> <base64> [comment]", as in ~/.ssh/id_ed25519.pub',
    );
  }
  const [, type, b64, comment] = m as unknown as [string, string, string, string | undefined];
  const blob = Buffer.from(b64, 'base64');
  if (blob.toString('base64') !== b64)
    throw new SshKeyError(
      "the key's base64 is not canonical: copy the line again from the .pub file",
    );
  const key = parsePublicKeyBlob(blob, comment ?? '');
  if (key.type !== type)
    throw new SshKeyError(`the line says '${type}' but the key inside is '${key.type}'`);
  return key;
}

export function formatPublicKeyLine(key: SshPublicKey): string {
  return `${key.type} ${key.blob.toString('base64')}${key.comment ? ` ${key.comment}` : ''}`;
}

/** The curve size in bytes of an ECDSA key, for converting SSH signatures to IEEE P1363. */
export function curveSize(curve: NonNullable<SshPublicKey['curve']>): number {
  return curves[curve].size;
}
