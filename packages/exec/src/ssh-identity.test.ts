import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { utils } from 'ssh2';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSshIdentity } from './ssh-identity.js';

const dir = mkdtempSync(path.join(tmpdir(), 'opsbook-identity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A real key from ssh-keygen (OpenSSH format), optionally encrypted. */
function keygen(name: string, args: string[], passphrase = ''): Buffer {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', ...args, '-N', passphrase, '-C', name, '-f', file]);
  return readFileSync(file);
}

const data = Buffer.from('session id and userauth request, as ssh2 signs them');
const cases: { name: string; args: string[]; algos: (string | undefined)[] }[] = [
  { name: 'ed25519', args: ['-t', 'ed25519'], algos: [undefined] },
  { name: 'ecdsa256', args: ['-t', 'ecdsa', '-b', '256'], algos: [undefined] },
  { name: 'ecdsa384', args: ['-t', 'ecdsa', '-b', '384'], algos: [undefined] },
  { name: 'ecdsa521', args: ['-t', 'ecdsa', '-b', '521'], algos: [undefined] },
  { name: 'rsa', args: ['-t', 'rsa', '-b', '2048'], algos: [undefined, 'sha256', 'sha512'] },
];

describe('parseSshIdentity: a key parsed once, signing with one key object', () => {
  for (const c of cases) {
    it(`signs a ${c.name} key as ssh2 itself does, for every hash ssh2 asks for`, async () => {
      const bytes = keygen(c.name, c.args);
      const parsed = await parseSshIdentity(bytes, undefined);
      const reference = utils.parseKey(bytes);
      if (Buffer.isBuffer(parsed) || reference instanceof Error) throw new Error('not parsed');
      expect(parsed.isPrivateKey()).toBe(true);
      expect(Object.hasOwn(parsed, 'sign')).toBe(true); // the fast path is the one in use
      for (const algo of c.algos) {
        const signature = parsed.sign(data, algo);
        expect(signature).toBeInstanceOf(Buffer);
        // ssh2's own verification with the same hash accepts it, and rejects other data.
        expect(reference.verify(data, signature, algo)).toBe(true);
        expect(reference.verify(Buffer.from('other data'), signature, algo)).toBe(false);
        // Deterministic schemes (Ed25519, RSA PKCS#1 v1.5) give the very bytes ssh2 gives.
        if (!c.name.startsWith('ecdsa')) expect(signature).toEqual(reference.sign(data, algo));
      }
    });
  }

  it('decrypts a passphrase-protected key once, and signs with it', async () => {
    const bytes = keygen('encrypted', ['-t', 'ed25519'], 'correct horse');
    const parsed = await parseSshIdentity(bytes, 'correct horse');
    if (Buffer.isBuffer(parsed)) throw new Error('not parsed');
    const reference = utils.parseKey(bytes, 'correct horse');
    if (reference instanceof Error) throw reference;
    expect(reference.verify(data, parsed.sign(data))).toBe(true);
  });

  it('hands back the bytes of a key it cannot parse, so ssh2 skips it as before', async () => {
    const bytes = keygen('locked', ['-t', 'ed25519'], 'the right one');
    expect(await parseSshIdentity(bytes, 'a wrong one')).toBe(bytes);
    expect(await parseSshIdentity(bytes, undefined)).toBe(bytes);
    const garbage = Buffer.from('not a key at all\n');
    expect(await parseSshIdentity(garbage, undefined)).toBe(garbage);
    // A public key is no identity either.
    keygen('public', ['-t', 'ed25519']);
    const pub = readFileSync(path.join(dir, 'public.pub'));
    expect(await parseSshIdentity(pub, undefined)).toBe(pub);
  });
});
