import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  addApprover,
  createSshsig,
  createTrustEnvelope,
  initTrust,
  loadTrustedStore,
  pinnedFileOf,
  readPinnedStore,
  revokeKey,
  serializeEnvelope,
  signatureFileOf,
  verifyApproval,
} from '../src/index.js';
import {
  approval,
  context,
  createWorld,
  type Person,
  signed,
  type World,
} from './approval-world.js';

let world: World;
let n = 0;
let stateDir: string;
let file: string;

beforeAll(async () => {
  world = await createWorld();
});
afterAll(async () => {
  await world?.remove();
});
beforeEach(async () => {
  n++;
  stateDir = path.join(world.dir, `state-${n}`);
  file = path.join(world.dir, `approvers-${n}.yaml`);
  await writeFile(file, world.storeText);
});

async function publish(text: string, signers: Person[]): Promise<void> {
  await writeFile(file, text);
  const env = createTrustEnvelope(Buffer.from(text));
  await writeFile(
    signatureFileOf(file),
    await signed(
      env,
      signers.map((p) => p.signer),
    ),
  );
}

async function refusedWith(promise: Promise<unknown>, code: string): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as { code?: string; message?: string },
  );
  expect(error?.code, error?.message ?? 'accepted').toBe(code);
  return error?.message ?? '';
}

function newSenior(text: string, who: Person) {
  return addApprover(text, {
    id: `new-${who.id}`,
    name: 'New Senior',
    roles: ['senior'],
    keys: [who.publicLine],
  });
}

describe('pinning', () => {
  it('refuses to load anything before an explicit trust init', async () => {
    const msg = await refusedWith(loadTrustedStore(stateDir, file), 'TRUST_NOT_INITIALISED');
    expect(msg).toContain('opsbook trust init');
  });

  it('pins the exact bytes in a private state dir and loads them back', async () => {
    const { store } = await initTrust(stateDir, file);
    expect(store.version).toBe(1);
    expect(store.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await readFile(pinnedFileOf(stateDir), 'utf8')).toBe(world.storeText);
    expect((await stat(path.dirname(pinnedFileOf(stateDir)))).mode & 0o777).toBe(0o700);
    expect((await stat(pinnedFileOf(stateDir))).mode & 0o777).toBe(0o600);
    expect((await loadTrustedStore(stateDir, file)).store.version).toBe(1);
  });

  it('re-initialising with other bytes needs force', async () => {
    await initTrust(stateDir, file);
    expect((await initTrust(stateDir, file)).replaced).toBeUndefined();
    await writeFile(file, newSenior(world.storeText, world.people.mallory).text);
    await refusedWith(initTrust(stateDir, file), 'TRUST_ALREADY_INITIALISED');
    const forced = await initTrust(stateDir, file, { force: true });
    expect(forced.replaced?.version).toBe(1);
    expect((await readPinnedStore(stateDir))?.version).toBe(2);
  });
});

describe('rotation', () => {
  beforeEach(async () => {
    await initTrust(stateDir, file);
  });

  it('refuses a trust store edited in place without rotation signatures', async () => {
    await writeFile(
      file,
      world.storeText.replace(
        'name: Dave Expert\n    roles: [expert]',
        'name: Dave Expert\n    roles: [senior]',
      ),
    );
    await refusedWith(loadTrustedStore(stateDir, file), 'TRUST_STORE_UNSIGNED');
  });

  it('refuses a new version without a signature file', async () => {
    await writeFile(file, newSenior(world.storeText, world.people.mallory).text);
    const msg = await refusedWith(loadTrustedStore(stateDir, file), 'TRUST_STORE_UNSIGNED');
    expect(msg).toContain('opsbook trust sign');
  });

  it('refuses a new version signed by one senior when two are required', async () => {
    await publish(newSenior(world.storeText, world.people.mallory).text, [world.people.alice]);
    await refusedWith(loadTrustedStore(stateDir, file), 'TRUST_THRESHOLD_NOT_MET');
  });

  it('counts two keys of one senior once', async () => {
    await publish(newSenior(world.storeText, world.people.mallory).text, [
      world.people.alice,
      world.people.alice2,
    ]);
    await refusedWith(loadTrustedStore(stateDir, file), 'TRUST_THRESHOLD_NOT_MET');
  });

  it('does not count experts, revoked keys, or the senior being added', async () => {
    await publish(newSenior(world.storeText, world.people.mallory).text, [
      world.people.alice,
      world.people.dave,
      world.people.erin,
      world.people.mallory,
    ]);
    await refusedWith(loadTrustedStore(stateDir, file), 'TRUST_THRESHOLD_NOT_MET');
  });

  it('does not count approval signatures (another namespace) over the same bytes', async () => {
    const text = newSenior(world.storeText, world.people.mallory).text;
    await writeFile(file, text);
    const env = createTrustEnvelope(Buffer.from(text));
    for (const p of [world.people.alice, world.people.bob]) {
      const armored = await createSshsig(Buffer.from(text), p.signer, 'opsbook-approval');
      env.signatures.push({ keyid: p.fingerprint, sshsig: armored });
    }
    await writeFile(signatureFileOf(file), serializeEnvelope(env));
    await refusedWith(loadTrustedStore(stateDir, file), 'TRUST_THRESHOLD_NOT_MET');
  });

  it('refuses signatures over other bytes (edited after signing)', async () => {
    const text = newSenior(world.storeText, world.people.mallory).text;
    await publish(text, [world.people.alice, world.people.bob]);
    await writeFile(file, text.replace('New Senior', 'New Senior (edited)'));
    await refusedWith(loadTrustedStore(stateDir, file), 'TRUST_SIGNATURE_MISMATCH');
  });

  it('refuses a damaged signature file', async () => {
    await writeFile(file, newSenior(world.storeText, world.people.mallory).text);
    await writeFile(
      signatureFileOf(file),
      '{"payloadType": "application/vnd.opsbook.approvers+yaml", "payloadType": "x"}',
    );
    await refusedWith(loadTrustedStore(stateDir, file), 'TRUST_SIGNATURE_INVALID');
  });

  it('accepts a version signed by two seniors of the pinned one, pins it, then refuses a rollback', async () => {
    const text = newSenior(world.storeText, world.people.mallory).text;
    await publish(text, [world.people.alice, world.people.bob]);
    const loaded = await loadTrustedStore(stateDir, file);
    expect(loaded.rotatedFrom).toBe(1);
    expect(loaded.store.version).toBe(2);
    expect(await readFile(pinnedFileOf(stateDir), 'utf8')).toBe(text);
    expect((await loadTrustedStore(stateDir, file)).rotatedFrom).toBeUndefined();

    await writeFile(file, world.storeText);
    await refusedWith(loadTrustedStore(stateDir, file), 'TRUST_STORE_ROLLBACK');
  });

  it('a revocation accepted by rotation refuses approvals by that key from then on', async () => {
    const bob = world.people.bob;
    const approvalText = await signed(approval(), [bob.signer]);
    expect(verifyApproval(approvalText, context(await loadTrustedStore(stateDir, file))).ok).toBe(
      true,
    );
    await publish(revokeKey(world.storeText, bob.fingerprint, 'left the company').text, [
      world.people.alice,
      world.people.carol,
    ]);
    const { store } = await loadTrustedStore(stateDir, file);
    const result = verifyApproval(approvalText, context({ store }));
    expect(result.ok ? 'ok' : result.code).toBe('KEY_REVOKED');
  });
});
