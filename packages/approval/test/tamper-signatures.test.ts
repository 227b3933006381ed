import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APPROVAL_NAMESPACE,
  APPROVAL_PAYLOAD_TYPE,
  attachSignature,
  createEnvelope,
  createSshsig,
  type Envelope,
  envelopeOf,
  MAX_ENVELOPE_BYTES,
  parseTrustStore,
  serializeEnvelope,
  signProposal,
  statementBytes,
  type VerifyResult,
  verifyApproval,
} from '../src/index.js';
import {
  approval,
  context,
  createWorld,
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

describe('refuses a correctly signed payload that is not in canonical form', () => {
  // Each variant parses to the very statement that verifies, and is signed by a real senior:
  // only the byte form differs, so an approval must have one byte form and one hash.
  const variants: Array<[string, (canonical: string) => string]> = [
    ['leading whitespace', (t) => ` ${t}`],
    ['trailing whitespace', (t) => `${t}\n\n`],
    ['compact JSON', (t) => `${JSON.stringify(JSON.parse(t))}\n`],
    ['CRLF line ends', (t) => t.replace(/\n/g, '\r\n')],
    [
      'another key order',
      (t) => {
        const { apiVersion, kind, ...rest } = JSON.parse(t) as Record<string, unknown>;
        return `${JSON.stringify({ kind, apiVersion, ...rest }, null, 2)}\n`;
      },
    ],
    ['a number spelt 1.0', (t) => t.replace('"maxRuns": 1,', '"maxRuns": 1.0,')],
    ['an escaped letter', (t) => t.replace('"Approval"', '"\\u0041pproval"')],
  ];
  for (const [what, change] of variants) {
    it(`refuses ${what}`, async () => {
      const canonical = statementBytes(approval()).toString('utf8');
      const bytes = Buffer.from(change(canonical), 'utf8');
      expect(bytes.equals(Buffer.from(canonical))).toBe(false);
      const text = await signed(envelopeOf(APPROVAL_PAYLOAD_TYPE, bytes), [
        world.people.alice.signer,
      ]);
      refused(verifyApproval(text, context(world)), 'PAYLOAD_NOT_CANONICAL');
    });
  }

  it('accepts the canonical bytes of the same statement', async () => {
    const statement = approval();
    const bytes = statementBytes(statement);
    const proposed = await signProposal(
      envelopeOf(APPROVAL_PAYLOAD_TYPE, bytes),
      statement,
      world.people.grace.signer,
    );
    const text = await signed(proposed, [world.people.alice.signer]);
    expect(verifyApproval(text, context(world)).ok).toBe(true);
  });
});
