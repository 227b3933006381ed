import { createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import type { ParsedKey } from 'ssh2';

/**
 * The hash ssh2 signs with when the server names none (ssh2's own default per key type; RSA
 * gets sha256/sha512 from the client whenever the server offers rsa-sha2). Ed25519 takes none.
 */
const DEFAULT_HASH: Record<string, string | null> = {
  'ssh-ed25519': null,
  'ssh-rsa': 'sha1',
  'ssh-dss': 'sha1',
  'ecdsa-sha2-nistp256': 'sha256',
  'ecdsa-sha2-nistp384': 'sha384',
  'ecdsa-sha2-nistp521': 'sha512',
};

/**
 * Parses a private key file's bytes ONCE, for every connection of a run. ssh2 otherwise parses
 * the key for each connection (for an encrypted key that is a bcrypt key derivation per host),
 * and its `sign` hands node:crypto the PEM text, which is parsed again for every signature
 * (an Ed25519 login: about 0.4 ms of client CPU, 0.03 ms with a key object; BENCHMARKS.md).
 *
 * Returns the parsed key, whose `sign` now uses one node:crypto key object, or the bytes
 * unchanged when ssh2 cannot parse them (wrong passphrase, unknown format): ssh2 then skips
 * the key exactly as before, and the next key or the agent is tried.
 */
export async function parseSshIdentity(
  bytes: Buffer,
  passphrase: string | undefined,
): Promise<ParsedKey | Buffer> {
  // ssh2 is CommonJS: Node's ESM import names only what its export lexer finds, not `utils`.
  const { utils } = (await import('ssh2')).default;
  const parsed = utils.parseKey(bytes, passphrase);
  if (parsed instanceof Error || !parsed.isPrivateKey()) return bytes;
  const hash = DEFAULT_HASH[parsed.type];
  const pem = parsed.getPrivatePEM();
  if (hash === undefined || !pem) return parsed; // a type ssh2 knows better: its own signing
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(pem);
  } catch {
    return parsed;
  }
  // An own property, so ssh2's authentication calls this one; errors are returned, as ssh2 does.
  Object.defineProperty(parsed, 'sign', {
    value: (data: Buffer, algo?: string): Buffer | Error => {
      try {
        return cryptoSign(algo || hash, data, keyObject);
      } catch (e) {
        return e as Error;
      }
    },
  });
  return parsed;
}
