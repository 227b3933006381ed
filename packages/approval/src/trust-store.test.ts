import { ValidationError } from '@opsbook/schema';
import { describe, expect, it } from 'vitest';
import { parseTrustStore, resolvePolicy } from './trust-store.js';

const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH4KeW/IcTJzUVZ8aVrve7gCDY7kuKz5RAk8bsbTKIQ0 a';
const KEY_B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEfGFX+O8nHHgL2rcbv6M2yPCcQTOTyrTaDlvmyEBRnf b';

function store(body: string): string {
  return `apiVersion: opsbook/v1
kind: Approvers
version: 3
approvers:
  - id: alice
    name: Alice
    roles: [senior]
    keys: ["${KEY_A}"]
  - id: bob
    name: Bob
    roles: [senior]
    keys: ["${KEY_B}"]
${body}`;
}

const POLICY = `policy:
  signatures: 1
  maxValidity: 7d
  grades: {P1: {signatures: 2, maxValidity: 24h}, P2: {maxValidity: 3d}}
  categories:
    routine: {maxValidity: 90d}
    change: {signatures: 2}
rotation: {signatures: 2}
`;

function problems(text: string): string[] {
  try {
    parseTrustStore(Buffer.from(text), 'approvers.yaml');
  } catch (e) {
    if (e instanceof ValidationError) return e.problems.map((p) => `${p.line}:${p.col} ${p.rule}`);
    throw e;
  }
  return [];
}

describe('parseTrustStore', () => {
  it('loads a store and indexes keys by fingerprint', () => {
    const s = parseTrustStore(Buffer.from(store(POLICY)));
    expect(s.version).toBe(3);
    expect([...s.keys.values()].map((k) => k.approver.id)).toEqual(['alice', 'bob']);
  });

  it('reports an unknown key with its line and column', () => {
    expect(
      problems(
        store(POLICY).replace('  signatures: 1\n', '  signatures: 1\n  selfApproval: true\n'),
      ),
    ).toEqual(['15:3 unknown-key']);
  });

  it('reports a broken key line where it is', () => {
    // Bob's key does not count, so the two-senior thresholds become unreachable too.
    const found = problems(store(POLICY).replace(KEY_B, 'ssh-rsa AAAA b'));
    expect(found[0]).toBe('12:12 bad-key');
    expect(found.slice(1).every((p) => p.endsWith('threshold-unreachable'))).toBe(true);
  });

  it('refuses one key listed for two people', () => {
    expect(problems(store(POLICY).replace(KEY_B, KEY_A))[0]).toBe('12:12 duplicate-key');
  });

  it('refuses thresholds no set of seniors can meet', () => {
    expect(
      problems(store(POLICY.replace('rotation: {signatures: 2}', 'rotation: {signatures: 3}'))),
    ).toEqual(['20:24 threshold-unreachable']);
  });

  it('refuses selectors switched on outside routine, anchors and duplicate keys', () => {
    expect(
      problems(
        store(
          POLICY.replace(
            'change: {signatures: 2}',
            'change: {signatures: 2, allowSelectors: true}',
          ),
        ),
      ),
    ).toEqual(['19:29 unknown-key']);
    expect(problems(store(POLICY).replace('roles: [senior]', 'roles: &r [senior]'))).toEqual([
      '7:15 yaml-anchor',
    ]);
    expect(problems(store(POLICY).replace('version: 3', 'version: 3\nversion: 4'))).toEqual([
      '4:1 yaml-duplicate-key',
    ]);
  });
});

describe('resolvePolicy', () => {
  const s = parseTrustStore(Buffer.from(store(POLICY)));
  it.each([
    ['incident', 'P3', 1, '7d', false],
    ['incident', 'P1', 2, '24h', false],
    ['change', 'P3', 2, '7d', false],
    ['routine', 'P4', 1, '90d', true],
    ['routine', 'P2', 1, '3d', true],
    ['routine', 'P1', 2, '24h', true],
  ] as const)(
    '%s %s needs %i signature(s), at most %s, selectors %s',
    (category, grade, signatures, maxValidity, allowSelectors) => {
      expect(resolvePolicy(s, category, grade)).toMatchObject({
        signatures,
        maxValidity,
        allowSelectors,
      });
    },
  );

  it('lets routine selectors be switched off', () => {
    const off = parseTrustStore(
      Buffer.from(
        store(
          POLICY.replace(
            'routine: {maxValidity: 90d}',
            'routine: {maxValidity: 90d, allowSelectors: false}',
          ),
        ),
      ),
    );
    expect(resolvePolicy(off, 'routine', 'P4').allowSelectors).toBe(false);
  });
});
