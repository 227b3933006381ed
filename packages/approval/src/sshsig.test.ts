import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parsePublicKeyBlob } from './ssh-key.js';
import { sshMpint, sshString, sshUint32 } from './ssh-wire.js';
import {
  APPROVAL_NAMESPACE,
  armorSshsig,
  createSshsig,
  parseSshsig,
  type SshSigner,
  sshsigSignedData,
  verifySshsig,
} from './sshsig.js';

function ed25519Signer(): SshSigner {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  const key = parsePublicKeyBlob(Buffer.concat([sshString('ssh-ed25519'), sshString(raw)]));
  return {
    publicKey: key,
    sign: async (data) =>
      Buffer.concat([sshString('ssh-ed25519'), sshString(sign(null, data, privateKey))]),
  };
}

function rsaSigner(algorithm: string, hash: string): SshSigner {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  const key = parsePublicKeyBlob(
    Buffer.concat([
      sshString('ssh-rsa'),
      sshMpint(Buffer.from(jwk.e as string, 'base64url')),
      sshMpint(Buffer.from(jwk.n as string, 'base64url')),
    ]),
  );
  const priv = createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' }));
  return {
    publicKey: key,
    sign: async (data) => Buffer.concat([sshString(algorithm), sshString(sign(hash, data, priv))]),
  };
}

const message = Buffer.from('{"kind":"Approval"}\n');

describe('SSHSIG', () => {
  it('round-trips and wraps the armor at 70 columns like ssh-keygen', async () => {
    const armored = await createSshsig(message, ed25519Signer(), APPROVAL_NAMESPACE);
    expect(
      armored
        .split('\n')
        .slice(1, -3)
        .every((l) => l.length === 70),
    ).toBe(true);
    const check = verifySshsig(armored, message, APPROVAL_NAMESPACE);
    expect(check.ok && check.sig.hashAlgorithm).toBe('sha512');
  });

  it('refuses another namespace, other bytes and CRLF-mangled armor only where it matters', async () => {
    const armored = await createSshsig(message, ed25519Signer(), 'git');
    expect(verifySshsig(armored, message, APPROVAL_NAMESPACE)).toMatchObject({
      ok: false,
      failure: 'namespace',
    });
    const good = await createSshsig(message, ed25519Signer(), APPROVAL_NAMESPACE);
    expect(verifySshsig(good, Buffer.from('other'), APPROVAL_NAMESPACE)).toMatchObject({
      ok: false,
      failure: 'bad-signature',
    });
    expect(verifySshsig(good.replace(/\n/g, '\r\n'), message, APPROVAL_NAMESPACE).ok).toBe(true);
  });

  it('refuses ssh-rsa (SHA-1) signatures and accepts rsa-sha2-256', async () => {
    const sha1 = await createSshsig(message, rsaSigner('ssh-rsa', 'sha1'), APPROVAL_NAMESPACE);
    expect(verifySshsig(sha1, message, APPROVAL_NAMESPACE)).toMatchObject({
      ok: false,
      failure: 'sha1-refused',
    });
    const sha256 = await createSshsig(
      message,
      rsaSigner('rsa-sha2-256', 'sha256'),
      APPROVAL_NAMESPACE,
    );
    expect(verifySshsig(sha256, message, APPROVAL_NAMESPACE).ok).toBe(true);
  });

  it('refuses an unknown hash algorithm, a non-empty reserved field and a wrong version', async () => {
    const signer = ed25519Signer();
    const build = async (version: number, reserved: string, hash: string) => {
      const signature = await signer.sign(sshsigSignedData(APPROVAL_NAMESPACE, 'sha512', message));
      return armorSshsig(
        Buffer.concat([
          Buffer.from('SSHSIG'),
          sshUint32(version),
          sshString(signer.publicKey.blob),
          sshString(APPROVAL_NAMESPACE),
          sshString(reserved),
          sshString(hash),
          sshString(signature),
        ]),
      );
    };
    expect(verifySshsig(await build(1, '', 'md5'), message, APPROVAL_NAMESPACE)).toMatchObject({
      ok: false,
      failure: 'hash',
    });
    expect(verifySshsig(await build(1, 'x', 'sha512'), message, APPROVAL_NAMESPACE)).toMatchObject({
      ok: false,
      failure: 'armor',
    });
    expect(verifySshsig(await build(2, '', 'sha512'), message, APPROVAL_NAMESPACE)).toMatchObject({
      ok: false,
      failure: 'armor',
    });
    expect(verifySshsig(await build(1, '', 'sha512'), message, APPROVAL_NAMESPACE).ok).toBe(true);
  });

  it('refuses armor with extra text, missing lines or bad characters', async () => {
    const armored = await createSshsig(message, ed25519Signer(), APPROVAL_NAMESPACE);
    for (const bad of [
      `junk\n${armored}`,
      armored.replace('-----END SSH SIGNATURE-----', ''),
      armored.replace(/\n[A-Za-z]/, '\n*'),
      '',
    ]) {
      expect(() => parseSshsig(bad)).toThrow();
    }
  });

  it('refuses a signature whose algorithm does not fit the key', async () => {
    const signer = ed25519Signer();
    const liar: SshSigner = {
      publicKey: signer.publicKey,
      sign: async (d) =>
        Buffer.concat([sshString('ecdsa-sha2-nistp256'), (await signer.sign(d)).subarray(15)]),
    };
    const armored = await createSshsig(message, liar, APPROVAL_NAMESPACE);
    expect(verifySshsig(armored, message, APPROVAL_NAMESPACE)).toMatchObject({ ok: false });
  });
});
