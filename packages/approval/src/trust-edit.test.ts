import { describe, expect, it } from 'vitest';
import { parsePublicKeyLine } from './ssh-key.js';
import { addApprover, checkPublicKeyLine, newTrustStore, revokeKey } from './trust-edit.js';
import { parseTrustStore } from './trust-store.js';

const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH4KeW/IcTJzUVZ8aVrve7gCDY7kuKz5RAk8bsbTKIQ0 a';
const KEY_B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEfGFX+O8nHHgL2rcbv6M2yPCcQTOTyrTaDlvmyEBRnf b';
const TEXT = `# Reviewed by the seniors; changes need two of their signatures.
apiVersion: opsbook/v1
kind: Approvers
version: 7
approvers:
  - id: alice   # on call for databases
    name: Alice
    roles: [senior]
    keys: ["${KEY_A}"]
policy: {signatures: 1, maxValidity: 7d}
rotation: {signatures: 1}
`;

describe('trust store edits', () => {
  it('adds an approver, raises the version and keeps comments', () => {
    const { text, store } = addApprover(TEXT, {
      id: 'bob',
      name: 'Bob',
      roles: ['senior'],
      keys: [KEY_B],
      jira: 'acc-bob',
    });
    expect(store.version).toBe(8);
    expect(text).toContain('# Reviewed by the seniors');
    expect(text).toContain('# on call for databases');
    // As the repository's formatter (biome) writes YAML: a committed approvers.yaml passes pnpm lint.
    expect(text).toContain('roles: [senior]');
    expect(text).not.toContain('[ senior ]');
    expect(
      parseTrustStore(Buffer.from(text)).keys.get(parsePublicKeyLine(KEY_B).fingerprint)?.approver
        .jira,
    ).toBe('acc-bob');
  });

  it('refuses a duplicate approver, a bad key and a key already listed', () => {
    expect(() =>
      addApprover(TEXT, { id: 'alice', name: 'A', roles: ['senior'], keys: [KEY_B] }),
    ).toThrow(/already exists/);
    expect(() =>
      addApprover(TEXT, { id: 'bob', name: 'B', roles: ['senior'], keys: ['ssh-ed25519 AAAA'] }),
    ).toThrow();
    expect(() =>
      addApprover(TEXT, { id: 'bob', name: 'B', roles: ['senior'], keys: [KEY_A] }),
    ).toThrow(/already listed/);
  });

  it('refuses a private key given as a key file as invalid input, naming the file and its .pub', () => {
    const privateKey =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----';
    const add = () =>
      addApprover(TEXT, {
        id: 'bob',
        name: 'B',
        roles: ['senior'],
        keys: [privateKey],
        keyFiles: ['keys/bob'],
      });
    expect(add).toThrow(
      expect.objectContaining({
        kind: 'invalid',
        code: 'PUBLIC_KEY_INVALID',
        message: expect.stringMatching(/^keys\/bob: this is a private key.*pass keys\/bob\.pub/),
      }),
    );
  });

  it('refuses another file as invalid input, saying what a public key line is', () => {
    expect(() => checkPublicKeyLine('call bob on monday', 'notes.txt')).toThrow(
      expect.objectContaining({
        kind: 'invalid',
        message: expect.stringMatching(/^notes\.txt: not an OpenSSH public key line/),
      }),
    );
    expect(() =>
      addApprover(TEXT, { id: 'bob', name: 'B', roles: ['senior'], keys: ['ssh-ed25519 AAAA'] }),
    ).toThrow(expect.objectContaining({ message: expect.stringMatching(/^key 1 of bob: /) }));
  });

  it('revokes a key by fingerprint', () => {
    const fp = parsePublicKeyLine(KEY_B).fingerprint;
    const { store } = revokeKey(TEXT, fp, 'laptop lost');
    expect(store.version).toBe(8);
    expect(store.revoked.get(fp)).toBe('laptop lost');
    expect(() => revokeKey(revokeKey(TEXT, fp, 'x').text, fp, 'again')).toThrow(/already revoked/);
  });
});

describe('a first approvers.yaml', () => {
  it('is version 1 with its senior, a policy and rotation by that senior, and loads strictly', () => {
    const { text, store } = newTrustStore({
      id: 'alice',
      name: 'Alice',
      roles: ['senior'],
      keys: [`${KEY_A}\n`],
    });
    expect(text).toContain('roles: [senior]');
    expect(store.version).toBe(1);
    expect(store.data.approvers).toEqual([
      { id: 'alice', name: 'Alice', roles: ['senior'], keys: [KEY_A] },
    ]);
    expect(store.data.policy).toMatchObject({ signatures: 1, maxValidity: '7d' });
    expect(store.data.rotation).toEqual({ signatures: 1 });
    expect(parseTrustStore(Buffer.from(text), 'approvers.yaml').digest).toBe(store.digest);
    expect(text).toMatch(/^# The trust store/);
    // Then grows as any store does.
    expect(
      addApprover(text, { id: 'bob', name: 'B', roles: ['engineer'], keys: [KEY_B] }).store.version,
    ).toBe(2);
  });

  it('refuses a first approver who is not a senior, and a key that is not a public key line', () => {
    expect(() =>
      newTrustStore({ id: 'erin', name: 'Erin', roles: ['engineer'], keys: [KEY_A] }),
    ).toThrow('its first approver must be a senior');
    expect(() =>
      newTrustStore({
        id: 'alice',
        name: 'Alice',
        roles: ['senior'],
        keys: ['-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----'],
        keyFiles: ['id_ed25519'],
      }),
    ).toThrow(/private key.*id_ed25519\.pub/);
  });
});
