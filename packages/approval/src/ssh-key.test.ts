import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  fingerprintOf,
  formatPublicKeyLine,
  parsePublicKeyBlob,
  parsePublicKeyLine,
  SshKeyError,
} from './ssh-key.js';
import { sshMpint, sshString } from './ssh-wire.js';

// Fixed keys and the fingerprints `ssh-keygen -lf` printed for them.
const ED25519 =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH4KeW/IcTJzUVZ8aVrve7gCDY7kuKz5RAk8bsbTKIQ0 a';

function rsaBlob(bits: number): Buffer {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const jwk = publicKey.export({ format: 'jwk' });
  return Buffer.concat([
    sshString('ssh-rsa'),
    sshMpint(Buffer.from(jwk.e as string, 'base64url')),
    sshMpint(Buffer.from(jwk.n as string, 'base64url')),
  ]);
}

describe('parsePublicKeyLine', () => {
  it('parses an ed25519 line with its comment and fingerprint', () => {
    const key = parsePublicKeyLine(ED25519);
    expect(key.type).toBe('ssh-ed25519');
    expect(key.comment).toBe('a');
    expect(key.fingerprint).toBe(fingerprintOf(key.blob));
    expect(key.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(formatPublicKeyLine(key)).toBe(ED25519);
  });

  it('refuses a line whose type word disagrees with the blob', () => {
    expect(() => parsePublicKeyLine(ED25519.replace('ssh-ed25519', 'ssh-rsa'))).toThrow(
      /says 'ssh-rsa'/,
    );
  });

  it('refuses non-canonical base64, options prefixes and junk', () => {
    expect(() => parsePublicKeyLine(ED25519.replace('0 a', '0= a'))).toThrow(/canonical/);
    expect(() => parsePublicKeyLine(`command="rm -rf /" ${ED25519}`)).toThrow(SshKeyError);
    expect(() => parsePublicKeyLine('hello')).toThrow(/not an OpenSSH public key line/);
  });

  it('refuses DSA, unknown types, trailing bytes and RSA under 2048 bits', () => {
    expect(() => parsePublicKeyBlob(Buffer.concat([sshString('ssh-dss'), sshString('x')]))).toThrow(
      /DSA keys are not accepted/,
    );
    expect(() => parsePublicKeyBlob(sshString('ssh-foo'))).toThrow(/unsupported key type/);
    const ed = parsePublicKeyLine(ED25519).blob;
    expect(() => parsePublicKeyBlob(Buffer.concat([ed, Buffer.from([0])]))).toThrow(/trailing/);
    expect(() => parsePublicKeyBlob(rsaBlob(1024))).toThrow(/1024 bits/);
    expect(parsePublicKeyBlob(rsaBlob(2048)).bits).toBe(2048);
  });

  it('refuses an ECDSA point that is not on its curve or names another curve', () => {
    const bad = Buffer.concat([
      sshString('ecdsa-sha2-nistp256'),
      sshString('nistp256'),
      sshString(Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)])),
    ]);
    expect(() => parsePublicKeyBlob(bad)).toThrow(SshKeyError);
    const other = Buffer.concat([
      sshString('ecdsa-sha2-nistp256'),
      sshString('nistp384'),
      sshString(Buffer.alloc(97, 4)),
    ]);
    expect(() => parsePublicKeyBlob(other)).toThrow(/names curve/);
  });

  it('refuses a security key whose application is not ssh:', () => {
    const pk = parsePublicKeyLine(ED25519).blob.subarray(-32);
    const blob = Buffer.concat([
      sshString('sk-ssh-ed25519@openssh.com'),
      sshString(pk),
      sshString('https://evil.example'),
    ]);
    expect(() => parsePublicKeyBlob(blob)).toThrow(/application/);
  });
});
