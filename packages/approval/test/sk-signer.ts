import { generateKeyPairSync, sign } from 'node:crypto';
import { parsePublicKeyBlob, type SshSigner } from '../src/index.js';
import { skSignedData } from '../src/ssh-signature.js';
import { sshMpint, sshString } from '../src/ssh-wire.js';

/*
 * A software stand-in for a FIDO security key: it signs exactly what an authenticator signs
 * (PROTOCOL.u2f: sha256(application) || flags || counter || sha256(data)), with the flags the
 * test chooses. The real ssh-keygen verifies its output, which is what proves the format.
 */
export function makeSkSigner(
  kind: 'ed25519' | 'ecdsa',
  flags = 0x01,
  application = 'ssh:',
): SshSigner {
  let counter = 0;
  if (kind === 'ed25519') {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
    const type = 'sk-ssh-ed25519@openssh.com';
    const key = parsePublicKeyBlob(
      Buffer.concat([sshString(type), sshString(raw), sshString(application)]),
      'sk@test',
    );
    return {
      publicKey: key,
      async sign(data) {
        counter++;
        const sig = sign(null, skSignedData(key, data, flags, counter), privateKey);
        return Buffer.concat([
          sshString(type),
          sshString(sig),
          Buffer.from([flags]),
          counterBytes(counter),
        ]);
      },
    };
  }
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const q = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x as string, 'base64url'),
    Buffer.from(jwk.y as string, 'base64url'),
  ]);
  const type = 'sk-ecdsa-sha2-nistp256@openssh.com';
  const key = parsePublicKeyBlob(
    Buffer.concat([sshString(type), sshString('nistp256'), sshString(q), sshString(application)]),
    'sk@test',
  );
  return {
    publicKey: key,
    async sign(data) {
      counter++;
      const p1363 = sign('sha256', skSignedData(key, data, flags, counter), {
        key: privateKey,
        dsaEncoding: 'ieee-p1363',
      });
      const inner = Buffer.concat([sshMpint(p1363.subarray(0, 32)), sshMpint(p1363.subarray(32))]);
      return Buffer.concat([
        sshString(type),
        sshString(inner),
        Buffer.from([flags]),
        counterBytes(counter),
      ]);
    },
  };
}

function counterBytes(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}
