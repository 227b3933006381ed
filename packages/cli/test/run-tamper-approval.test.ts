import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approvedFile,
  envelopeText,
  planApproval,
  readEnvelope,
  type Statement,
  signedEnvelope,
  statementOf,
} from './approval-craft.js';
import type { World } from './opsbook-world.js';
import {
  createTamperWorld,
  DAY,
  expectRefusedUntouched,
  instant,
  type TamperCase,
  type TamperWorld,
} from './tamper-world.js';

/*
 * Issue 4, "Done means", first half: approvals tampered with in the file itself — envelope,
 * signatures, signers, validity window, executor, targets — fed to the real `opsbook run`, exit 3
 * with their refusal code, and no command reaches any host.
 */

let t: TamperWorld;
let world: World;
let base: string;
let baseP1: string;
let tamperDir: string;
beforeAll(async () => {
  t = await createTamperWorld();
  ({ world, base, baseP1, tamperDir } = t);
});
afterAll(async () => {
  await t?.world.remove();
});
const write = (text: string | Buffer) => t.write(text);
const baseStatement = () => t.baseStatement();
const resigned: TamperWorld['resigned'] = (changes, ...signers) => t.resigned(changes, ...signers);

const cases: TamperCase[] = [
  // The file itself
  [
    'an unknown payloadType',
    'ENVELOPE_INVALID',
    async () => {
      const env = await signedEnvelope(world.dir, await baseStatement(), [world.people.alice], {
        payloadType: 'application/vnd.in-toto+json',
      });
      return { file: await write(envelopeText(env)) };
    },
  ],
  [
    'duplicate JSON keys',
    'ENVELOPE_INVALID',
    async () => {
      const text = await readFile(base, 'utf8');
      return {
        file: await write(
          text.replace('{\n', '{\n  "payloadType": "application/vnd.opsbook.approval+json",\n'),
        ),
      };
    },
  ],
  [
    'an oversize file',
    'ENVELOPE_INVALID',
    async () => {
      const text = await readFile(base, 'utf8');
      return { file: await write(text.replace('{\n', `{${' '.repeat(300 * 1024)}\n`)) };
    },
  ],
  [
    'a statement with an unknown field, signed',
    'STATEMENT_INVALID',
    async () => ({
      file: await resigned({ comment: 'also restart the database' }, world.people.alice),
    }),
  ],
  // One statement, one byte form (issue 14, item 3): the same statement, signed, in other bytes
  ...(
    [
      ['leading whitespace', (t: string) => ` ${t}`],
      ['trailing whitespace', (t: string) => `${t}  \n`],
      ['compact JSON', (t: string) => `${JSON.stringify(JSON.parse(t))}\n`],
    ] as const
  ).map(
    ([what, change]): TamperCase => [
      `a correctly signed statement with ${what} (not canonical)`,
      'PAYLOAD_NOT_CANONICAL',
      async () => {
        const canonical = Buffer.from((await readEnvelope(base)).payload, 'base64').toString();
        const env = await signedEnvelope(world.dir, Buffer.from(change(canonical)), [
          world.people.alice,
        ]);
        return { file: await write(envelopeText(env)) };
      },
    ],
  ),
  // Signatures
  [
    'one payload byte edited',
    'SIGNATURE_INVALID',
    async () => {
      const envelope = await readEnvelope(base);
      const bytes = Buffer.from(envelope.payload, 'base64');
      const at = bytes.indexOf('"maxRuns": 1');
      bytes[at + 11] = '9'.charCodeAt(0);
      return {
        file: await write(envelopeText({ ...envelope, payload: bytes.toString('base64') })),
      };
    },
  ],
  [
    'an extra host added to the payload',
    'SIGNATURE_INVALID',
    async () => {
      const envelope = await readEnvelope(base);
      const s = statementOf(envelope);
      const payload = Buffer.from(
        `${JSON.stringify({ ...s, targets: { hosts: ['h1', 'h2', 'h3'] } }, null, 2)}\n`,
      );
      return {
        file: await write(envelopeText({ ...envelope, payload: payload.toString('base64') })),
      };
    },
  ],
  [
    'a signature made in another namespace (ssh-keygen -n file)',
    'SIGNATURE_INVALID',
    async () => {
      const env = await signedEnvelope(world.dir, await baseStatement(), [world.people.alice], {
        namespace: 'file',
      });
      return { file: await write(envelopeText(env)) };
    },
  ],
  [
    "another approval's signature",
    'SIGNATURE_INVALID',
    async () => {
      const other = await approvedFile(world, 'marker', 'other.json', [world.people.alice], {
        params: { dir: tamperDir },
        target: 'h1',
      });
      const envelope = await readEnvelope(base);
      const foreign = (await readEnvelope(other)).signatures;
      return { file: await write(envelopeText({ ...envelope, signatures: foreign })) };
    },
  ],
  [
    'a garbled signature armor',
    'SIGNATURE_INVALID',
    async () => {
      const envelope = await readEnvelope(base);
      const sig = envelope.signatures[0]!;
      const garbled = sig.sshsig.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!');
      return {
        file: await write(envelopeText({ ...envelope, signatures: [{ ...sig, sshsig: garbled }] })),
      };
    },
  ],
  [
    "a signature claiming another senior's keyid",
    'SIGNATURE_INVALID',
    async () => {
      const envelope = await readEnvelope(base);
      const sig = { ...envelope.signatures[0]!, keyid: world.people.bob.fingerprint };
      return { file: await write(envelopeText({ ...envelope, signatures: [sig] })) };
    },
  ],
  // Signers
  [
    'a key nobody trusts',
    'SIGNER_UNTRUSTED',
    async () => ({ file: await resigned({}, world.people.mallory) }),
  ],
  ['a revoked key', 'KEY_REVOKED', async () => ({ file: await resigned({}, world.people.erin) })],
  [
    'a changed param re-signed by an expert who is not a senior',
    'SIGNER_NOT_SENIOR',
    async () => ({
      file: await resigned({ params: { dir: '/' } }, world.people.dave),
    }),
  ],
  [
    'no signature',
    'THRESHOLD_NOT_MET',
    async () => ({
      file: await write(envelopeText({ ...(await readEnvelope(base)), signatures: [] })),
    }),
  ],
  [
    'a P1 run with one senior signature',
    'THRESHOLD_NOT_MET',
    async () => {
      const s = statementOf(await readEnvelope(baseP1));
      return {
        file: await write(envelopeText(await signedEnvelope(world.dir, s, [world.people.alice]))),
      };
    },
  ],
  [
    "a P1 run with one senior's signature counted twice",
    'THRESHOLD_NOT_MET',
    async () => {
      const s = statementOf(await readEnvelope(baseP1));
      const env = await signedEnvelope(world.dir, s, [world.people.alice]);
      return {
        file: await write(
          envelopeText({ ...env, signatures: [env.signatures[0]!, env.signatures[0]!] }),
        ),
      };
    },
  ],
  [
    'a senior running their own approval',
    'SELF_APPROVAL',
    async () => ({
      args: ['run', base, '--key', world.people.alice.keyFile],
      env: { OPSBOOK_USER: 'alice' },
    }),
  ],
  // Who runs is proven by a key, not by OPSBOOK_USER (issue 14, item 2)
  [
    "an approval whose proposer's signature was stripped",
    'PROPOSER_UNPROVEN',
    async () => {
      const { proposal: _p, ...stripped } = await readEnvelope(base);
      return { file: await write(envelopeText(stripped)) };
    },
  ],
  [
    "a senior running their own approval under the engineer's name",
    'SELF_APPROVAL',
    async () => ({
      args: ['run', base, '--key', world.people.alice.keyFile],
      env: { OPSBOOK_USER: 'grace' },
    }),
  ],
  [
    'an executor whose key is not in the trust store',
    'EXECUTOR_UNTRUSTED',
    async () => ({ args: ['run', base, '--key', world.people.mallory.keyFile] }),
  ],
  [
    'an executor whose key is revoked',
    'KEY_REVOKED',
    async () => ({ args: ['run', base, '--key', world.people.erin.keyFile] }),
  ],
  [
    'an executor with no key at all',
    'EXECUTOR_UNPROVEN',
    async () => ({ file: base, env: { HOME: path.join(world.dir, 'no-home') } }),
  ],
  [
    'a senior approving their own proposal',
    'SELF_APPROVAL',
    async () => ({
      // Made with ssh-keygen, as opsbook approve itself refuses to sign it (tested below).
      file: await resigned({ proposer: 'bob' }, world.people.bob),
    }),
  ],
  // The statement's window, runs and executor
  [
    'an expired approval',
    'EXPIRED',
    async () => ({
      file: await resigned(
        { notBefore: instant(-2 * DAY), expiresAt: instant(-DAY) },
        world.people.alice,
      ),
    }),
  ],
  [
    'an approval not yet valid',
    'NOT_YET_VALID',
    async () => ({
      file: await resigned(
        { notBefore: instant(DAY), expiresAt: instant(2 * DAY) },
        world.people.alice,
      ),
    }),
  ],
  [
    'a validity longer than the policy allows',
    'VALIDITY_TOO_LONG',
    async () => ({
      file: await resigned(
        { notBefore: instant(-60_000), expiresAt: instant(30 * DAY) },
        world.people.alice,
      ),
    }),
  ],
  [
    'another executor named in the approval',
    'EXECUTOR_MISMATCH',
    async () => ({
      file: await approvedFile(world, 'marker', 'executor.json', [world.people.alice], {
        params: { dir: tamperDir },
        target: 'h1:h2',
        extra: ['--executor', 'dave'],
      }),
    }),
  ],
  [
    'a selector on a non-routine runbook',
    'SELECTOR_NOT_ALLOWED',
    async () => {
      const { plan: _plan, ...s } = await baseStatement();
      return {
        file: await resigned(
          { ...s, targets: { selector: 'all' } } as Partial<Statement>,
          world.people.alice,
        ),
      };
    },
  ],
  [
    'a host dropped from the targets, re-signed without a new plan',
    'PLAN_MISMATCH',
    async () => ({
      file: await resigned({ targets: { hosts: ['h1'] } }, world.people.alice),
    }),
  ],
  [
    'an extra host outside the inventory, re-signed',
    'TARGETS_OUTSIDE_SCOPE',
    async () => ({
      file: await resigned({ targets: { hosts: ['h1', 'h2', 'h3'] } }, world.people.alice),
    }),
  ],
];

describe('opsbook run refuses approvals tampered with in the file, and touches no host', () => {
  it.each(cases)('%s → exit 3 %s, no command on any host', async (_name, code, attempt) => {
    await expectRefusedUntouched(t, code, await attempt());
  });
});

describe('who proposes is the key, not OPSBOOK_USER', () => {
  it("refuses a senior who plans under the engineer's name with his own key, then approves", async () => {
    const file = await planApproval(world, 'marker', 'bob-as-grace.json', {
      params: { dir: tamperDir },
      target: 'h1:h2',
      env: { OPSBOOK_USER: 'grace' },
      extra: ['--key', world.people.bob.keyFile],
    });
    // The proposer is the person the key belongs to, whatever the environment said.
    expect(statementOf(await readEnvelope(file)).proposer).toBe('bob');
    const r = await world.opsbook(['approve', file, '--key', world.people.bob.keyFile]);
    expect(r.stderr).toMatch(/^refused \(SELF_APPROVAL\): /);
    expect(r.code).toBe(3);
    expect((await readEnvelope(file)).signatures).toEqual([]);
  });
});
