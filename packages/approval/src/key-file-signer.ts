import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import type { ValidationError } from '@opsbook/schema';
import { type ApprovalErrorCode, approvalErrors } from './error-codes.js';
import { parsePublicKeyBlob, SshKeyError } from './ssh-key.js';
import { encodeEcdsaSignature } from './ssh-signature.js';
import { sshString } from './ssh-wire.js';
import type { SshSigner } from './sshsig.js';

export interface KeyFileOptions {
  /** Shown in errors; the file itself is read by the caller. */
  file?: string;
  /** For encrypted keys; the CLI takes it from OPSBOOK_KEY_PASSPHRASE or a prompt, never argv. */
  passphrase?: string;
}

function keyProblem(
  file: string,
  code: ApprovalErrorCode<'invalid'>,
  message: string,
): ValidationError {
  return new approvalErrors.ValidationError(
    [{ file, line: 0, col: 0, rule: code.toLowerCase().replace(/_/g, '-'), message }],
    code,
  );
}

/**
 * A signer from an OpenSSH (or PEM) private key file: ed25519, ECDSA or RSA, encrypted or not.
 * ssh2 parses the file format (including bcrypt-encrypted OpenSSH keys); node:crypto signs.
 */
export async function loadKeyFileSigner(
  bytes: Uint8Array,
  options: KeyFileOptions = {},
): Promise<SshSigner> {
  const file = options.file ?? 'private key';
  const utils = await loadSsh2Utils();
  const parsed = utils.parseKey(Buffer.from(bytes), options.passphrase);
  if (parsed instanceof Error) {
    if (/no passphrase given/i.test(parsed.message)) {
      throw keyProblem(
        file,
        'KEY_PASSPHRASE_REQUIRED',
        'the key is encrypted: set OPSBOOK_KEY_PASSPHRASE or enter the passphrase when asked',
      );
    }
    if (/bad passphrase|decrypt/i.test(parsed.message)) {
      throw keyProblem(
        file,
        'KEY_PASSPHRASE_WRONG',
        'the passphrase does not open this key: check OPSBOOK_KEY_PASSPHRASE, or sign with --agent',
      );
    }
    throw keyProblem(
      file,
      'KEY_UNREADABLE',
      `cannot read the private key (${parsed.message}): pass an OpenSSH private key such as ~/.ssh/id_ed25519, not the .pub file`,
    );
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key?.isPrivateKey()) {
    throw keyProblem(
      file,
      'KEY_UNREADABLE',
      'this is a public key: pass the private key file (without .pub), or sign with --agent',
    );
  }
  let publicKey: ReturnType<typeof parsePublicKeyBlob>;
  try {
    publicKey = parsePublicKeyBlob(key.getPublicSSH(), key.comment);
  } catch (e) {
    throw keyProblem(file, 'KEY_UNSUPPORTED', e instanceof SshKeyError ? e.message : String(e));
  }
  const privateKey = createPrivateKey(key.getPrivatePEM());
  return {
    publicKey,
    sign: async (data) => signWith(publicKey.type, publicKey.curve, privateKey, data),
  };
}

function signWith(
  type: string,
  curve: string | undefined,
  privateKey: KeyObject,
  data: Uint8Array,
): Buffer {
  if (type === 'ssh-ed25519')
    return Buffer.concat([sshString(type), sshString(sign(null, data, privateKey))]);
  if (type === 'ssh-rsa')
    return Buffer.concat([sshString('rsa-sha2-512'), sshString(sign('sha512', data, privateKey))]);
  const hash = curve === 'nistp521' ? 'sha512' : curve === 'nistp384' ? 'sha384' : 'sha256';
  return encodeEcdsaSignature(
    type,
    sign(hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' }),
  );
}

/** ssh2 is CommonJS: Node exposes `utils` as a named export, some loaders only under `default`. */
async function loadSsh2Utils(): Promise<typeof import('ssh2').utils> {
  const mod = (await import('ssh2')) as typeof import('ssh2') & { default?: typeof import('ssh2') };
  return mod.utils ?? (mod.default as typeof import('ssh2')).utils;
}
