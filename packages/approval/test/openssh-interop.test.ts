import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APPROVAL_NAMESPACE,
  attachSignature,
  type Envelope,
  loadKeyFileSigner,
  parseTrustStore,
  payloadBytes,
  serializeEnvelope,
  signEnvelope,
  verifyApproval,
  verifySshsig,
} from '../src/index.js';
import {
  approval,
  context,
  graceLine,
  makeKey,
  NOW,
  type Person,
  proposedEnvelope,
  run,
  sshKeygen,
  sshKeygenSign,
} from './approval-world.js';
import { makeSkSigner } from './sk-signer.js';

/*
 * Interoperability with the real OpenSSH, both ways: what `ssh-keygen -Y sign` makes, opsbook
 * verifies; what opsbook signs, `ssh-keygen -Y verify` accepts against an allowed_signers file.
 */

let dir: string;
let grace: Person;
const keys: Record<string, Person> = {};
const kinds = [
  ['ed25519', 'ed25519', undefined],
  ['ecdsa-256', 'ecdsa', 256],
  ['ecdsa-384', 'ecdsa', 384],
  ['ecdsa-521', 'ecdsa', 521],
  ['rsa-3072', 'rsa', 3072],
] as const;
const PASSPHRASE = 'correct horse battery staple';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-interop-'));
  grace = await makeKey(dir, 'grace', 'ed25519');
  for (const [name, type, bits] of kinds) keys[name] = await makeKey(dir, name, type, bits);
  keys.encrypted = await makeKey(dir, 'encrypted', 'ed25519', undefined, PASSPHRASE);
  keys['encrypted-rsa'] = await makeKey(dir, 'encrypted-rsa', 'rsa', 3072, PASSPHRASE);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function storeFor(person: Person) {
  return parseTrustStore(
    Buffer.from(`apiVersion: opsbook/v1
kind: Approvers
version: 1
approvers:
  - {id: senior, name: The Senior, roles: [senior], keys: ["${person.publicLine}"]}
${graceLine(grace)}
policy: {signatures: 1, maxValidity: 7d}
rotation: {signatures: 1}
`),
  );
}

async function sshKeygenVerify(
  publicLine: string,
  namespace: string,
  message: Uint8Array,
  armored: string,
  options = '',
): Promise<string> {
  const allowed = path.join(dir, `allowed-${Math.random().toString(36).slice(2)}`);
  const sig = `${allowed}.sig`;
  const msg = `${allowed}.msg`;
  await writeFile(allowed, `senior@example.com ${options ? `${options} ` : ''}${publicLine}\n`);
  await writeFile(sig, armored);
  await writeFile(msg, message);
  const child = run('bash', [
    '-c',
    `ssh-keygen -Y verify -f "$1" -I senior@example.com -n "$2" -s "$3" < "$4"`,
    'verify',
    allowed,
    namespace,
    sig,
    msg,
  ]);
  try {
    return (await child).stdout;
  } finally {
    await Promise.all([allowed, sig, msg].map((f) => rm(f, { force: true })));
  }
}

describe.each([...kinds.map(([n]) => n), 'encrypted', 'encrypted-rsa'])('%s keys', (name) => {
  it('verifies a signature made by ssh-keygen -Y sign over `opsbook approval payload` output', async () => {
    const person = keys[name] as Person;
    const envelope = await proposedEnvelope(approval(), grace.signer);
    const payload = payloadBytes(serializeEnvelope(envelope));
    const env = name.startsWith('encrypted')
      ? {
          ...process.env,
          SSH_ASKPASS: await askpass(),
          SSH_ASKPASS_REQUIRE: 'force',
          DISPLAY: ':0',
        }
      : process.env;
    const armored = await sshKeygenSign(dir, person.keyFile, APPROVAL_NAMESPACE, payload, [], env);
    const attached = serializeEnvelope(attachSignature(envelope, armored));
    const result = verifyApproval(attached, context({ store: storeFor(person) }));
    expect(result.ok ? 'ok' : result.message).toBe('ok');
  });

  it('signs so that ssh-keygen -Y verify accepts it against allowed_signers', async () => {
    const person = keys[name] as Person;
    const signer = name.startsWith('encrypted')
      ? await loadKeyFileSigner(await readFile(person.keyFile), { passphrase: PASSPHRASE })
      : person.signer;
    const envelope = await signEnvelope(await proposedEnvelope(approval(), grace.signer), signer);
    const sig = envelope.signatures[0] as Envelope['signatures'][number];
    expect(sig.keyid).toBe(person.fingerprint);
    const out = await sshKeygenVerify(
      person.publicLine,
      APPROVAL_NAMESPACE,
      payloadBytes(envelope),
      sig.sshsig,
    );
    expect(out).toContain('Good "opsbook-approval" signature for senior@example.com');
  });
});

async function askpass(): Promise<string> {
  const file = path.join(dir, 'askpass.sh');
  await writeFile(file, `#!/bin/sh\necho '${PASSPHRASE}'\n`, { mode: 0o700 });
  return file;
}

describe('ssh-keygen compatibility details', () => {
  it('verifies ssh-keygen signatures made with hashalg=sha256', async () => {
    const person = keys.ed25519 as Person;
    const message = Buffer.from('approval bytes');
    const armored = await sshKeygenSign(dir, person.keyFile, APPROVAL_NAMESPACE, message, [
      '-O',
      'hashalg=sha256',
    ]);
    const check = verifySshsig(armored, message, APPROVAL_NAMESPACE);
    expect(check.ok && check.sig.hashAlgorithm).toBe('sha256');
  });

  it('prints fingerprints exactly as ssh-keygen -lf does', async () => {
    for (const person of Object.values(keys)) {
      const out = await sshKeygen(['-lf', `${person.keyFile}.pub`]);
      expect(out.split(' ')[1]).toBe(person.fingerprint);
    }
  });

  it('refuses an encrypted key without passphrase, and with a wrong one, by code', async () => {
    const bytes = await readFile((keys.encrypted as Person).keyFile);
    await expect(loadKeyFileSigner(bytes)).rejects.toMatchObject({
      code: 'KEY_PASSPHRASE_REQUIRED',
    });
    await expect(loadKeyFileSigner(bytes, { passphrase: 'wrong' })).rejects.toMatchObject({
      code: 'KEY_PASSPHRASE_WRONG',
    });
    await expect(
      loadKeyFileSigner(Buffer.from((keys.ed25519 as Person).publicLine)),
    ).rejects.toMatchObject({ kind: 'invalid' });
  });

  it.each([
    ['sk-ssh-ed25519', 'ed25519'],
    ['sk-ecdsa-sha2-nistp256', 'ecdsa'],
  ] as const)(
    'makes %s signatures that ssh-keygen verifies, and refuses untouched ones, stricter than ssh-keygen',
    async (_n, kind) => {
      const message = Buffer.from(`statement at ${NOW.toISOString()}`);
      const touched = makeSkSigner(kind, 0x01);
      const env = await signEnvelope(
        {
          payloadType: 'application/vnd.opsbook.approval+json',
          payload: message.toString('base64'),
          signatures: [],
        },
        touched,
      );
      const line = `${touched.publicKey.type} ${touched.publicKey.blob.toString('base64')}`;
      expect(
        await sshKeygenVerify(line, APPROVAL_NAMESPACE, message, env.signatures[0]!.sshsig),
      ).toContain('Good');

      const untouched = makeSkSigner(kind, 0x00);
      const { createSshsig } = await import('../src/index.js');
      const armored = await createSshsig(message, untouched, APPROVAL_NAMESPACE);
      const untouchedLine = `${untouched.publicKey.type} ${untouched.publicKey.blob.toString('base64')}`;
      // The format is right (ssh-keygen 9.2 -Y verify accepts it: it does not check the flag),
      // but opsbook requires user presence: malware on a laptop must not sign silently.
      expect(await sshKeygenVerify(untouchedLine, APPROVAL_NAMESPACE, message, armored)).toContain(
        'Good',
      );
      const check = verifySshsig(armored, message, APPROVAL_NAMESPACE);
      expect(check.ok ? 'ok' : check.failure).toBe('user-presence-missing');
    },
  );
});
