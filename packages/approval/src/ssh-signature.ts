import { constants, createHash, verify } from 'node:crypto';
import { curveSize, type SshPublicKey } from './ssh-key.js';
import { SshReader, SshWireError, sshMpint, sshString } from './ssh-wire.js';

/** FIDO flag: the user touched the security key. Required, so malware cannot sign silently. */
export const SK_USER_PRESENT = 0x01;
export const SK_USER_VERIFIED = 0x04;

/** Why a signature did not verify, as data; callers turn it into their own refusal. */
export type SignatureFailure =
  | 'malformed'
  | 'algorithm-mismatch'
  | 'sha1-refused'
  | 'user-presence-missing'
  | 'bad-signature';

export type SignatureCheck =
  | { ok: true; algorithm: string; flags?: number; counter?: number }
  | { ok: false; failure: SignatureFailure; detail: string };

/** The signature algorithms each key type may use; `ssh-rsa` (SHA-1) is deliberately absent. */
function allowedAlgorithms(key: SshPublicKey): string[] {
  return key.type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256'] : [key.type];
}

const ecdsaHash = { nistp256: 'sha256', nistp384: 'sha384', nistp521: 'sha512' } as const;

/**
 * Verify an SSH wire-format signature (`string algorithm, string blob` and, for security keys,
 * `byte flags, uint32 counter`) made by `key` over `data`.
 */
export function verifySshSignature(
  key: SshPublicKey,
  data: Uint8Array,
  signature: Uint8Array,
): SignatureCheck {
  let algorithm: string;
  let blob: Buffer;
  let flags: number | undefined;
  let counter: number | undefined;
  try {
    const r = new SshReader(signature);
    algorithm = r.readText();
    blob = r.readString();
    if (key.type.startsWith('sk-')) {
      flags = r.readByte();
      counter = r.readUint32();
    }
    r.expectEnd('the signature');
  } catch (e) {
    return {
      ok: false,
      failure: 'malformed',
      detail: e instanceof SshWireError ? e.message : String(e),
    };
  }
  if (algorithm === 'ssh-rsa' && key.type === 'ssh-rsa') {
    return {
      ok: false,
      failure: 'sha1-refused',
      detail: 'signature uses ssh-rsa (SHA-1), which is refused',
    };
  }
  if (!allowedAlgorithms(key).includes(algorithm)) {
    return {
      ok: false,
      failure: 'algorithm-mismatch',
      detail: `signature algorithm ${algorithm} does not fit a ${key.type} key`,
    };
  }
  let valid: boolean;
  try {
    valid = checkMath(key, algorithm, data, blob, flags, counter);
  } catch (e) {
    return { ok: false, failure: 'malformed', detail: e instanceof Error ? e.message : String(e) };
  }
  if (!valid)
    return {
      ok: false,
      failure: 'bad-signature',
      detail: 'the signature does not match the key and data',
    };
  if (flags !== undefined && !(flags & SK_USER_PRESENT)) {
    return {
      ok: false,
      failure: 'user-presence-missing',
      detail: 'the security key did not assert user presence',
    };
  }
  return {
    ok: true,
    algorithm,
    ...(flags === undefined ? {} : { flags }),
    ...(flags === undefined || counter === undefined ? {} : { counter }),
  };
}

function checkMath(
  key: SshPublicKey,
  algorithm: string,
  data: Uint8Array,
  blob: Buffer,
  flags?: number,
  counter?: number,
): boolean {
  switch (key.type) {
    case 'ssh-ed25519':
      return blob.length === 64 && verify(null, data, key.keyObject, blob);
    case 'ssh-rsa': {
      const hash = algorithm === 'rsa-sha2-512' ? 'sha512' : 'sha256';
      // Some signers drop leading zero bytes; RSASSA-PKCS1-v1_5 wants the modulus length.
      const size = Math.ceil((key.bits ?? 0) / 8);
      if (blob.length > size) return false;
      const padded = Buffer.concat([Buffer.alloc(size - blob.length), blob]);
      return verify(
        hash,
        data,
        { key: key.keyObject, padding: constants.RSA_PKCS1_PADDING },
        padded,
      );
    }
    case 'sk-ssh-ed25519@openssh.com':
      return (
        blob.length === 64 &&
        verify(null, skSignedData(key, data, flags ?? 0, counter ?? 0), key.keyObject, blob)
      );
    case 'sk-ecdsa-sha2-nistp256@openssh.com':
      return verifyEcdsa(key, 'sha256', skSignedData(key, data, flags ?? 0, counter ?? 0), blob);
    default:
      return verifyEcdsa(key, ecdsaHash[key.curve ?? 'nistp256'], data, blob);
  }
}

/** What a FIDO authenticator signs (OpenSSH PROTOCOL.u2f): hashes of the application and data. */
export function skSignedData(
  key: SshPublicKey,
  data: Uint8Array,
  flags: number,
  counter: number,
): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(counter >>> 0, 1);
  return Buffer.concat([
    createHash('sha256')
      .update(key.application ?? '')
      .digest(),
    head,
    createHash('sha256').update(data).digest(),
  ]);
}

function verifyEcdsa(key: SshPublicKey, hash: string, data: Uint8Array, blob: Buffer): boolean {
  const r = new SshReader(blob);
  const sigR = r.readPositiveMpint();
  const sigS = r.readPositiveMpint();
  r.expectEnd('the ECDSA signature');
  const size = curveSize(key.curve ?? 'nistp256');
  if (sigR.length > size || sigS.length > size) return false;
  const p1363 = Buffer.concat([
    Buffer.alloc(size - sigR.length),
    sigR,
    Buffer.alloc(size - sigS.length),
    sigS,
  ]);
  return verify(hash, data, { key: key.keyObject, dsaEncoding: 'ieee-p1363' }, p1363);
}

/** Wrap a raw ECDSA signature (IEEE P1363 r||s) in the SSH wire encoding. */
export function encodeEcdsaSignature(algorithm: string, p1363: Uint8Array): Buffer {
  const half = p1363.length / 2;
  const inner = Buffer.concat([sshMpint(p1363.subarray(0, half)), sshMpint(p1363.subarray(half))]);
  return Buffer.concat([sshString(algorithm), sshString(inner)]);
}
