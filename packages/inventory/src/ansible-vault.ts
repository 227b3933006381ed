import { createDecipheriv, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';

/** What every Ansible Vault text starts with, whole files and `!vault` values alike. */
export const VAULT_HEADER = '$ANSIBLE_VAULT;';

/** Why a vault text could not be opened; never holds any part of the plaintext or the password. */
export class VaultError extends Error {
  constructor(
    readonly reason: 'malformed' | 'unsupported' | 'wrong-password',
    message: string,
  ) {
    super(message);
    this.name = 'VaultError';
  }
}

export function isVaultText(text: string | Uint8Array): boolean {
  const head =
    typeof text === 'string'
      ? text.trimStart().slice(0, VAULT_HEADER.length)
      : Buffer.from(text.subarray(0, 64)).toString('latin1').trimStart().slice(0, 15);
  return head === VAULT_HEADER;
}

const hexRe = /^(?:[0-9a-fA-F]{2})+$/;

function unhex(text: string, what: string): Buffer {
  if (!hexRe.test(text)) throw new VaultError('malformed', `the ${what} is not hexadecimal`);
  return Buffer.from(text, 'hex');
}

/**
 * Decrypt an Ansible Vault text (format 1.1 or 1.2, cipher AES256), as Ansible's VaultAES256:
 * PBKDF2-HMAC-SHA256 with 10,000 iterations derives an AES-256 key, an HMAC-SHA256 key and the
 * CTR counter from the password and the salt; the HMAC of the ciphertext is checked before
 * anything is decrypted; the plaintext carries PKCS#7 padding.
 */
export function decryptVault(vaultText: string, password: Uint8Array): Buffer {
  const lines = vaultText.trim().split(/\r?\n/);
  const header = lines[0]!.trim().split(';');
  const [magic, version, cipher] = header.map((h) => h.trim());
  if (`${magic};` !== VAULT_HEADER || header.length < 3) {
    throw new VaultError('malformed', 'the vault header is not $ANSIBLE_VAULT;1.x;AES256');
  }
  if (version !== '1.1' && version !== '1.2') {
    throw new VaultError(
      'unsupported',
      `vault format ${version} is not supported (1.1 and 1.2 are)`,
    );
  }
  if (cipher !== 'AES256') {
    throw new VaultError('unsupported', `vault cipher ${cipher} is not supported (AES256 is)`);
  }
  const envelope = unhex(
    lines
      .slice(1)
      .map((l) => l.trim())
      .join(''),
    'vault body',
  ).toString('latin1');
  const parts = envelope.split('\n');
  if (parts.length !== 3)
    throw new VaultError('malformed', 'the vault body has no salt, HMAC and data');
  const salt = unhex(parts[0]!, 'salt');
  const hmac = unhex(parts[1]!, 'HMAC');
  const data = unhex(parts[2]!, 'data');
  const derived = pbkdf2Sync(password, salt, 10_000, 80, 'sha256');
  const key = derived.subarray(0, 32);
  const hmacKey = derived.subarray(32, 64);
  const counter = derived.subarray(64, 80);
  const expected = createHmac('sha256', hmacKey).update(data).digest();
  if (hmac.length !== expected.length || !timingSafeEqual(hmac, expected)) {
    throw new VaultError('wrong-password', 'the vault password does not open it (HMAC mismatch)');
  }
  const decipher = createDecipheriv('aes-256-ctr', key, counter);
  const padded = Buffer.concat([decipher.update(data), decipher.final()]);
  const pad = padded.at(-1) ?? 0;
  if (pad < 1 || pad > 16 || pad > padded.length) {
    throw new VaultError('malformed', 'the decrypted data has no valid padding');
  }
  return padded.subarray(0, padded.length - pad);
}

/** A vault password file's bytes as Ansible reads them: surrounding whitespace stripped. */
export function vaultPasswordOf(fileBytes: Uint8Array): Buffer {
  const text = Buffer.from(fileBytes);
  let start = 0;
  let end = text.length;
  const isSpace = (b: number) => b === 0x20 || (b >= 0x09 && b <= 0x0d);
  while (start < end && isSpace(text[start]!)) start++;
  while (end > start && isSpace(text[end - 1]!)) end--;
  return text.subarray(start, end);
}
