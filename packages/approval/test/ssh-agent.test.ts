import { type ChildProcess, spawn } from 'node:child_process';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APPROVAL_NAMESPACE,
  attachSignature,
  connectAgentSigner,
  listAgentKeys,
  parseTrustStore,
  payloadBytes,
  serializeEnvelope,
  signEnvelope,
  verifyApproval,
} from '../src/index.js';
import {
  approval,
  context,
  graceLine,
  makeKey,
  type Person,
  proposedEnvelope,
  run,
  sshKeygenSign,
} from './approval-world.js';

/* Signing through a real ssh-agent, started here by PID and stopped by PID. */

let dir: string;
let grace: Person;
let agent: ChildProcess | undefined;
let socketPath: string;
const keys: Record<string, Person> = {};
const PASSPHRASE = 'agent passphrase';

async function sshAdd(file: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
  await run('setsid', ['-w', 'ssh-add', '-q', file], {
    env: { ...process.env, SSH_AUTH_SOCK: socketPath, ...extraEnv },
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-agent-'));
  socketPath = path.join(dir, 'agent.sock');
  agent = spawn('ssh-agent', ['-D', '-a', socketPath], { stdio: 'ignore' });
  const exited = new Promise<never>((_, reject) =>
    agent?.once('exit', (code) => reject(new Error(`ssh-agent exited with ${code}`))),
  );
  exited.catch(() => undefined);
  let ready = false;
  for (let i = 0; i < 200 && !ready; i++) {
    ready = await access(socketPath).then(
      () => true,
      () => false,
    );
    if (!ready) await Promise.race([sleep(25), exited]);
  }
  if (!ready) throw new Error('ssh-agent did not create its socket');
  grace = await makeKey(dir, 'grace', 'ed25519');
  keys.ed25519 = await makeKey(dir, 'ed25519', 'ed25519');
  keys.ecdsa = await makeKey(dir, 'ecdsa', 'ecdsa', 384);
  keys.rsa = await makeKey(dir, 'rsa', 'rsa', 3072);
  keys.encrypted = await makeKey(dir, 'encrypted', 'ed25519', undefined, PASSPHRASE);
});

afterAll(async () => {
  if (agent?.pid && agent.exitCode === null) {
    const gone = new Promise((resolve) => agent?.once('exit', resolve));
    process.kill(agent.pid, 'SIGTERM');
    await gone;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

function storeFor(...people: Person[]) {
  const approvers = people
    .map((p, i) => `  - {id: s${i}, name: Senior ${i}, roles: [senior], keys: ["${p.publicLine}"]}`)
    .concat(graceLine(grace))
    .join('\n');
  return parseTrustStore(
    Buffer.from(
      `apiVersion: opsbook/v1\nkind: Approvers\nversion: 1\napprovers:\n${approvers}\npolicy: {signatures: 1, maxValidity: 7d}\nrotation: {signatures: 1}\n`,
    ),
  );
}

async function sshKeygenVerify(
  person: Person,
  message: Uint8Array,
  armored: string,
): Promise<string> {
  const base = path.join(dir, `v-${Math.random().toString(36).slice(2)}`);
  await writeFile(`${base}.allowed`, `senior ${person.publicLine}\n`);
  await writeFile(`${base}.sig`, armored);
  await writeFile(`${base}.msg`, message);
  const { stdout } = await run('bash', [
    '-c',
    'ssh-keygen -Y verify -f "$1.allowed" -I senior -n opsbook-approval -s "$1.sig" < "$1.msg"',
    'v',
    base,
  ]);
  return stdout;
}

describe('ssh-agent signing', () => {
  it('calls a missing agent a usage problem (exit 2) that says how to start one', async () => {
    await expect(connectAgentSigner({ env: {} })).rejects.toMatchObject({
      code: 'AGENT_UNAVAILABLE',
      kind: 'invalid',
      message: expect.stringContaining('start ssh-agent'),
    });
    await expect(
      connectAgentSigner({ socketPath: path.join(dir, 'nope.sock') }),
    ).rejects.toMatchObject({ code: 'AGENT_UNAVAILABLE', kind: 'invalid' });
  });

  it('refuses an empty agent', async () => {
    await expect(connectAgentSigner({ socketPath })).rejects.toMatchObject({
      code: 'AGENT_KEY_NOT_FOUND',
    });
  });

  it('signs with the only key in the agent, verified by opsbook and by ssh-keygen', async () => {
    const person = keys.ed25519 as Person;
    await sshAdd(person.keyFile);
    const signer = await connectAgentSigner({ env: { SSH_AUTH_SOCK: socketPath } });
    expect(signer.publicKey.fingerprint).toBe(person.fingerprint);
    const envelope = await signEnvelope(await proposedEnvelope(approval(), grace.signer), signer);
    const result = verifyApproval(
      serializeEnvelope(envelope),
      context({ store: storeFor(person) }),
    );
    expect(result.ok ? 'ok' : result.message).toBe('ok');
    expect(
      await sshKeygenVerify(person, payloadBytes(envelope), envelope.signatures[0]!.sshsig),
    ).toContain('Good');
  });

  it('asks for a fingerprint when the agent holds several keys, and signs with each one named', async () => {
    await sshAdd((keys.ecdsa as Person).keyFile);
    await sshAdd((keys.rsa as Person).keyFile);
    expect((await listAgentKeys({ socketPath })).map((k) => k.publicKey.type).sort()).toEqual([
      'ecdsa-sha2-nistp384',
      'ssh-ed25519',
      'ssh-rsa',
    ]);
    await expect(connectAgentSigner({ socketPath })).rejects.toMatchObject({
      code: 'AGENT_KEY_NOT_FOUND',
    });
    await expect(
      connectAgentSigner({ socketPath, fingerprint: (keys.encrypted as Person).fingerprint }),
    ).rejects.toMatchObject({ code: 'AGENT_KEY_NOT_FOUND' });
    for (const name of ['ecdsa', 'rsa'] as const) {
      const person = keys[name] as Person;
      const signer = await connectAgentSigner({ socketPath, fingerprint: person.fingerprint });
      const envelope = await signEnvelope(await proposedEnvelope(approval(), grace.signer), signer);
      expect(
        await sshKeygenVerify(person, payloadBytes(envelope), envelope.signatures[0]!.sshsig),
      ).toContain('Good');
      expect(
        verifyApproval(serializeEnvelope(envelope), context({ store: storeFor(person) })).ok,
      ).toBe(true);
    }
  });

  it('signs with an encrypted key once ssh-add has unlocked it', async () => {
    const person = keys.encrypted as Person;
    const askpass = path.join(dir, 'askpass.sh');
    await writeFile(askpass, `#!/bin/sh\necho '${PASSPHRASE}'\n`, { mode: 0o700 });
    await sshAdd(person.keyFile, {
      SSH_ASKPASS: askpass,
      SSH_ASKPASS_REQUIRE: 'force',
      DISPLAY: ':0',
    });
    const signer = await connectAgentSigner({ socketPath, fingerprint: person.fingerprint });
    const envelope = await signEnvelope(await proposedEnvelope(approval(), grace.signer), signer);
    expect(
      verifyApproval(serializeEnvelope(envelope), context({ store: storeFor(person) })).ok,
    ).toBe(true);
  });

  it('verifies what ssh-keygen -Y sign makes through the agent (public key file only)', async () => {
    const person = keys.rsa as Person;
    const envelope = await proposedEnvelope(approval(), grace.signer);
    const armored = await sshKeygenSign(
      dir,
      `${person.keyFile}.pub`,
      APPROVAL_NAMESPACE,
      payloadBytes(envelope),
      [],
      {
        ...process.env,
        SSH_AUTH_SOCK: socketPath,
      },
    );
    const result = verifyApproval(
      serializeEnvelope(attachSignature(envelope, armored)),
      context({ store: storeFor(person) }),
    );
    expect(result.ok ? 'ok' : result.message).toBe('ok');
  });

  it('honours cancellation', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(listAgentKeys({ socketPath, signal: controller.signal })).rejects.toThrow('stop');
  });
});
