import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APPROVAL_NAMESPACE,
  approvalDigestOf,
  type Envelope,
  identifyExecutor,
  RUN_CLAIM_NAMESPACE,
  signRunClaim,
  statementBytes,
  verifyApproval,
  verifyRunClaim,
} from '../src/index.js';
import { approval, context, createWorld, run, signed, type World } from './approval-world.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(async () => {
  await world?.remove();
});

let approvalPayload: Buffer;
const payload = () => (approvalPayload ??= statementBytes(approval()));
const claimInput = (executor: string) => ({
  approvalId: 'abcdefghijklmnop',
  approvalPayload: payload(),
  ticket: 'OPS-42',
  runId: 'run-1',
  hosts: ['web-01', 'web-02'],
  executor,
});

function codeOf(result: { ok: boolean; code?: string; message?: string }): string {
  return result.ok ? 'ok' : (result.code ?? '?');
}

describe('who runs is the person whose key signs the run claim', () => {
  it('identifies a listed key as its person, whatever name the environment gives', () => {
    const who = identifyExecutor(world.store, world.people.dave.fingerprint);
    expect(who.ok && who.executor).toMatchObject({
      id: 'dave',
      fingerprint: world.people.dave.fingerprint,
    });
  });

  it('refuses a key the trust store does not list, and a revoked one', () => {
    expect(codeOf(identifyExecutor(world.store, world.people.mallory.fingerprint))).toBe(
      'EXECUTOR_UNTRUSTED',
    );
    expect(codeOf(identifyExecutor(world.store, world.people.erin.fingerprint))).toBe(
      'KEY_REVOKED',
    );
  });

  it('a signed claim verifies with its executor, approval and run', async () => {
    const envelope = await signRunClaim(claimInput('dave'), world.people.dave.signer);
    const result = verifyRunClaim(envelope, world.store, {
      approvalId: 'abcdefghijklmnop',
      approvalDigest: approvalDigestOf(payload()),
      runId: 'run-1',
    });
    expect(result.ok ? result.executor.id : result.message).toBe('dave');
    expect(codeOf(verifyRunClaim(envelope, world.store, { runId: 'run-2' }))).toBe(
      'EXECUTOR_UNPROVEN',
    );
  });

  it('refuses a claim that names another person than the key that signed it', async () => {
    // bob signs a claim saying dave ran it: the name is not believed, the key is.
    const envelope = await signRunClaim(claimInput('dave'), world.people.bob.signer);
    const result = verifyRunClaim(envelope, world.store);
    expect(codeOf(result)).toBe('EXECUTOR_UNPROVEN');
    expect(result.ok ? '' : result.message).toMatch(/names dave but is signed by bob/);
  });

  it('refuses a claim edited after signing, or carrying a second signature', async () => {
    const envelope = await signRunClaim(claimInput('dave'), world.people.dave.signer);
    const edited: Envelope = {
      ...envelope,
      payload: Buffer.from(
        Buffer.from(envelope.payload, 'base64').toString().replace('web-02', 'db-01'),
      ).toString('base64'),
    };
    expect(codeOf(verifyRunClaim(edited, world.store))).toBe('EXECUTOR_UNPROVEN');
    const twice = { ...envelope, signatures: [envelope.signatures[0]!, envelope.signatures[0]!] };
    expect(codeOf(verifyRunClaim(twice, world.store))).toBe('EXECUTOR_UNPROVEN');
  });

  it('OpenSSH verifies the claim in the opsbook-run namespace (ssh-keygen -Y verify)', async () => {
    const envelope = await signRunClaim(claimInput('dave'), world.people.dave.signer);
    const dir = world.dir;
    await writeFile(path.join(dir, 'claim'), Buffer.from(envelope.payload, 'base64'));
    await writeFile(path.join(dir, 'claim.sig'), envelope.signatures[0]!.sshsig);
    await writeFile(path.join(dir, 'allowed'), `dave ${world.people.dave.publicLine}\n`);
    const verify = (namespace: string) =>
      run(
        'sh',
        ['-c', `ssh-keygen -Y verify -f allowed -I dave -n ${namespace} -s claim.sig < claim`],
        { cwd: dir },
      ).then(
        () => 'verified',
        () => 'refused',
      );
    expect(await verify(RUN_CLAIM_NAMESPACE)).toBe('verified');
    expect(await verify(APPROVAL_NAMESPACE)).toBe('refused');
  });
});

describe('separation of duties is checked on keys', () => {
  it('refuses a senior running their own approval under another name', async () => {
    const text = await signed(approval(), [world.people.alice.signer]);
    // The environment says "henry"; the key that proves who runs is alice's second key.
    const who = identifyExecutor(world.store, world.people.alice2.fingerprint);
    expect(who.ok).toBe(true);
    if (!who.ok) return;
    const result = verifyApproval(text, context(world, { executor: who.executor }));
    expect(codeOf(result)).toBe('SELF_APPROVAL');
    // What to do is to have someone else run it, not to find another senior for a signed plan.
    if (result.ok) return;
    expect(result.message).toMatch(
      /signed this approval and is running it: a senior does not run what they signed: have the engineer run it with their own key/,
    );
  });

  it('accepts the same approval run by another listed person', async () => {
    const text = await signed(approval(), [world.people.alice.signer]);
    const who = identifyExecutor(world.store, world.people.dave.fingerprint);
    if (!who.ok) throw new Error(who.message);
    expect(verifyApproval(text, context(world, { executor: who.executor })).ok).toBe(true);
  });
});
