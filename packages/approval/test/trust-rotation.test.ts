import { chmod, chown, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { trustPinDir } from '@opsbook/schema';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  addApprover,
  createSshsig,
  createTrustEnvelope,
  initTrust,
  loadTrustedStore,
  pinnedFileOf,
  pinWeakness,
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
let pinDir: string;
let file: string;

beforeAll(async () => {
  world = await createWorld();
});
afterAll(async () => {
  await world?.remove();
});
beforeEach(async () => {
  n++;
  pinDir = path.join(world.dir, `state-${n}`);
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

describe('a trust store path that names no readable file', () => {
  it('refuses a folder as invalid input naming it and the trustStore key, for init and for loading', async () => {
    const folder = path.join(world.dir, `store-folder-${n}`);
    await mkdir(folder);
    await expect(initTrust(pinDir, folder)).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringMatching(
        new RegExp(
          `^${folder}: cannot read it: it is a folder, not a file \\(EISDIR\\): .*trustStore`,
        ),
      ),
    });
    await initTrust(pinDir, file);
    await expect(loadTrustedStore(pinDir, folder)).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('trustStore in opsbook.yaml'),
    });
  });

  it('refuses a folder where the rotation signatures belong, naming it', async () => {
    await initTrust(pinDir, file);
    const { text } = newSenior(world.storeText, world.people.mallory);
    await writeFile(file, text);
    await mkdir(signatureFileOf(file));
    await expect(loadTrustedStore(pinDir, file)).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining(`${signatureFileOf(file)}: cannot read it: it is a folder`),
    });
  });
});

describe('pinning', () => {
  it('refuses to load anything before an explicit trust init', async () => {
    const msg = await refusedWith(loadTrustedStore(pinDir, file), 'TRUST_NOT_INITIALISED');
    expect(msg).toContain('opsbook trust init');
  });

  it('says that OPSBOOK_TRUST_DIR chose the folder with no pin, and how to use the machine pin', async () => {
    // pinDir is not /etc/opsbook/trust: only OPSBOOK_TRUST_DIR names another folder.
    const msg = await refusedWith(loadTrustedStore(pinDir, file), 'TRUST_NOT_INITIALISED');
    expect(msg).toContain(
      `OPSBOOK_TRUST_DIR names ${pinDir}: if it is set by mistake, unset it to use this machine's pin in /etc/opsbook/trust`,
    );
  });

  it('pins the exact bytes, readable by every user and writable by its owner only', async () => {
    const { store } = await initTrust(pinDir, file);
    expect(store.version).toBe(1);
    expect(store.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await readFile(pinnedFileOf(pinDir), 'utf8')).toBe(world.storeText);
    expect((await stat(path.dirname(pinnedFileOf(pinDir)))).mode & 0o777).toBe(0o755);
    expect((await stat(pinnedFileOf(pinDir))).mode & 0o777).toBe(0o644);
    expect((await loadTrustedStore(pinDir, file)).store.version).toBe(1);
  });

  it('the pin is in /etc/opsbook/trust unless OPSBOOK_TRUST_DIR names another folder', () => {
    expect(trustPinDir({})).toBe('/etc/opsbook/trust');
    expect(trustPinDir({ OPSBOOK_TRUST_DIR: '/srv/pin' })).toBe('/srv/pin');
  });

  it('--force does not replace the pin without the pinned seniors’ rotation signatures', async () => {
    await initTrust(pinDir, file);
    expect((await initTrust(pinDir, file)).replaced).toBeUndefined();
    // The executor's own key added as a senior, version raised: no rotation signatures.
    await writeFile(file, newSenior(world.storeText, world.people.mallory).text);
    await refusedWith(initTrust(pinDir, file), 'TRUST_ALREADY_INITIALISED');
    await refusedWith(initTrust(pinDir, file, { force: true }), 'TRUST_STORE_UNSIGNED');
    // Signed by mallory herself: not a senior of the pinned version.
    await publish(newSenior(world.storeText, world.people.mallory).text, [world.people.mallory]);
    await refusedWith(initTrust(pinDir, file, { force: true }), 'TRUST_THRESHOLD_NOT_MET');
    expect((await readPinnedStore(pinDir))?.version).toBe(1);
  });

  it('--force replaces the pin with the rotation signatures of the pinned seniors', async () => {
    await initTrust(pinDir, file);
    await publish(newSenior(world.storeText, world.people.mallory).text, [
      world.people.alice,
      world.people.bob,
    ]);
    const forced = await initTrust(pinDir, file, { force: true });
    expect(forced.replaced?.version).toBe(1);
    expect((await readPinnedStore(pinDir))?.version).toBe(2);
  });
});

describe('a pin the person who runs could change is refused', () => {
  const nobody = 65534;
  const someone = 4242;
  it('refuses a pin in a folder the running user owns, or another user does', async () => {
    await initTrust(pinDir, file);
    await chown(pinDir, nobody, nobody);
    expect(await pinWeakness(pinnedFileOf(pinDir), nobody)).toMatch(/belongs to you \(uid 65534\)/);
    // Another account's folder: that account could be an accomplice's, so it is not root's pin.
    expect(await pinWeakness(pinnedFileOf(pinDir), someone)).toMatch(
      /belongs to uid 65534, not root/,
    );
    await chown(pinDir, 0, 0);
    expect(await pinWeakness(pinnedFileOf(pinDir), someone)).toBeUndefined();
  });

  it('refuses a pin that its group or everyone may write, however deep the folder', async () => {
    await initTrust(pinDir, file);
    await chmod(pinDir, 0o775);
    expect(await pinWeakness(pinnedFileOf(pinDir), someone)).toMatch(/writable by its group/);
    await chmod(pinDir, 0o755);
    await chmod(pinnedFileOf(pinDir), 0o666);
    expect(await pinWeakness(pinnedFileOf(pinDir), someone)).toMatch(/mode 666/);
  });

  it('follows a link to where the pin really is', async () => {
    await initTrust(pinDir, file);
    const mine = path.join(world.dir, `mine-${n}`);
    await mkdir(mine);
    await writeFile(path.join(mine, 'approvers.yaml'), world.storeText);
    const link = path.join(world.dir, `link-${n}`);
    await symlink(mine, link);
    expect(await pinWeakness(pinnedFileOf(link), someone)).toBeUndefined();
    await chown(mine, nobody, nobody);
    expect(await pinWeakness(pinnedFileOf(link), nobody)).toMatch(/belongs to you/);
  });
});

describe('rotation', () => {
  beforeEach(async () => {
    await initTrust(pinDir, file);
  });

  it('refuses a trust store edited in place without rotation signatures', async () => {
    await writeFile(
      file,
      world.storeText.replace(
        'name: Dave Expert\n    roles: [expert]',
        'name: Dave Expert\n    roles: [senior]',
      ),
    );
    await refusedWith(loadTrustedStore(pinDir, file), 'TRUST_STORE_UNSIGNED');
  });

  it('refuses a new version without a signature file', async () => {
    await writeFile(file, newSenior(world.storeText, world.people.mallory).text);
    const msg = await refusedWith(loadTrustedStore(pinDir, file), 'TRUST_STORE_UNSIGNED');
    expect(msg).toContain('opsbook trust sign');
  });

  it('refuses a new version signed by one senior when two are required', async () => {
    await publish(newSenior(world.storeText, world.people.mallory).text, [world.people.alice]);
    await refusedWith(loadTrustedStore(pinDir, file), 'TRUST_THRESHOLD_NOT_MET');
  });

  it('counts two keys of one senior once', async () => {
    await publish(newSenior(world.storeText, world.people.mallory).text, [
      world.people.alice,
      world.people.alice2,
    ]);
    await refusedWith(loadTrustedStore(pinDir, file), 'TRUST_THRESHOLD_NOT_MET');
  });

  it('does not count experts, revoked keys, or the senior being added', async () => {
    await publish(newSenior(world.storeText, world.people.mallory).text, [
      world.people.alice,
      world.people.dave,
      world.people.erin,
      world.people.mallory,
    ]);
    await refusedWith(loadTrustedStore(pinDir, file), 'TRUST_THRESHOLD_NOT_MET');
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
    await refusedWith(loadTrustedStore(pinDir, file), 'TRUST_THRESHOLD_NOT_MET');
  });

  it('refuses signatures over other bytes (edited after signing)', async () => {
    const text = newSenior(world.storeText, world.people.mallory).text;
    await publish(text, [world.people.alice, world.people.bob]);
    await writeFile(file, text.replace('New Senior', 'New Senior (edited)'));
    await refusedWith(loadTrustedStore(pinDir, file), 'TRUST_SIGNATURE_MISMATCH');
  });

  it('refuses a damaged signature file', async () => {
    await writeFile(file, newSenior(world.storeText, world.people.mallory).text);
    await writeFile(
      signatureFileOf(file),
      '{"payloadType": "application/vnd.opsbook.approvers+yaml", "payloadType": "x"}',
    );
    await refusedWith(loadTrustedStore(pinDir, file), 'TRUST_SIGNATURE_INVALID');
  });

  it('accepts a version signed by two seniors of the pinned one, pins it, then refuses a rollback', async () => {
    const text = newSenior(world.storeText, world.people.mallory).text;
    await publish(text, [world.people.alice, world.people.bob]);
    const loaded = await loadTrustedStore(pinDir, file);
    expect(loaded.rotatedFrom).toBe(1);
    expect(loaded.store.version).toBe(2);
    expect(await readFile(pinnedFileOf(pinDir), 'utf8')).toBe(text);
    expect((await loadTrustedStore(pinDir, file)).rotatedFrom).toBeUndefined();

    await writeFile(file, world.storeText);
    await refusedWith(loadTrustedStore(pinDir, file), 'TRUST_STORE_ROLLBACK');
  });

  it('a revocation accepted by rotation refuses approvals by that key from then on', async () => {
    const bob = world.people.bob;
    const approvalText = await signed(approval(), [bob.signer]);
    expect(verifyApproval(approvalText, context(await loadTrustedStore(pinDir, file))).ok).toBe(
      true,
    );
    await publish(revokeKey(world.storeText, bob.fingerprint, 'left the company').text, [
      world.people.alice,
      world.people.carol,
    ]);
    const { store } = await loadTrustedStore(pinDir, file);
    const result = verifyApproval(approvalText, context({ store }));
    expect(result.ok ? 'ok' : result.code).toBe('KEY_REVOKED');
  });
});
