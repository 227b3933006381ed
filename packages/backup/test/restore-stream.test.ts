import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmod,
  mkdir,
  open,
  readdir,
  readFile,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { CommandCancelledError, createLocalTransport, type Transport } from '@opsbook/exec';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { type Sshd, startSshdHosts } from '@opsbook/testkit/sshd';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backupFiles,
  backupPostgres,
  compareRestoredFiles,
  type Manifest,
  RestoreCancelledError,
  restoreFiles,
  restorePostgres,
} from '../src/index.js';
import { snapshotTree } from './file-tree.js';
import { connectTestHost, onWholeArchiveSent, pgTarget } from './test-hosts.js';

/** How much of `tree`'s data.bin a restore into `restored` has extracted into its staging folder. */
async function stagedBytes(restored: string, tree: string): Promise<number> {
  const [staging] = (await readdir(restored).catch(() => [] as string[])).filter((e) =>
    e.startsWith('.opsbook-restore.'),
  );
  if (!staging) return 0;
  const partial = path.join(restored, staging, tree, 'data.bin');
  return (await stat(partial).catch(() => undefined))?.size ?? 0;
}

/*
 * Restores stream the archive from the runner's repository into `tar -x` / `pg_restore` on a
 * real sshd host, hashing it on the way, with no copy of the archive on the host. These tests
 * damage the archive or its manifest and check that nothing reaches the target.
 */

const run = promisify(execFile);
let host: Sshd;
let pg: Postgres;
let temp: { dir: string; remove: () => Promise<void> };
let ssh: Transport;
/** The SSH transport without copyFile: a restore that copied the archive to the host would fail. */
let streamingOnly: Transport;
let tree = '';
let repository = '';
let filesBackupId = '';

/** Waits for a condition a bounded number of times (no wall-clock assertion: it only waits). */
async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** A copy of a repository's backup, its archive or manifest changed by `damage`, under a new id. */
async function damagedCopy(
  id: string,
  damage: (archive: string, manifest: Manifest) => Promise<void>,
): Promise<string> {
  const from = path.join(repository, 'backups', id);
  const copyId = `${id}-damaged-${Math.random().toString(36).slice(2, 8)}`;
  const to = path.join(repository, 'backups', copyId);
  await mkdir(to);
  const manifest = JSON.parse(await readFile(path.join(from, 'manifest.json'), 'utf8')) as Manifest;
  const name = manifest.archives[0]!.name;
  await writeFile(path.join(to, name), await readFile(path.join(from, name)));
  manifest.id = copyId;
  await damage(path.join(to, name), manifest);
  await writeFile(path.join(to, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return copyId;
}

async function flipByteInTheMiddle(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  const { size } = await handle.stat();
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, size >> 1);
  byte[0] = byte[0]! ^ 0x01;
  await handle.write(byte, 0, 1, size >> 1);
  await handle.close();
}

const otherDigest = async (_archive: string, manifest: Manifest) => {
  manifest.archives[0]!.sha256 = createHash('sha256').update('another archive').digest('hex');
};
const flipped = async (archive: string) => flipByteInTheMiddle(archive);

const target = (database: string) => pgTarget(pg, database);

beforeAll(async () => {
  temp = await makeTempDir('opsbook-restore-stream-');
  [host] = (await startSshdHosts(1)) as [Sshd];
  pg = await startPostgres();
  ssh = await connectTestHost(host, temp.dir);
  streamingOnly = {
    ...ssh,
    copyFile: async () => {
      throw new Error('a restore must not copy the archive to the host');
    },
  };
  tree = path.join(temp.dir, 'tree');
  await mkdir(path.join(tree, 'conf'), { recursive: true });
  await writeFile(path.join(tree, 'conf', 'app.ini'), '[app]\nport = 8080\n');
  await run('sh', ['-c', `head -c 48000000 /dev/urandom > ${path.join(tree, 'data.bin')}`]);
  repository = path.join(temp.dir, 'repo');
  const { backup } = await backupFiles({
    transport: ssh,
    repository,
    paths: [tree],
    compression: 'none',
  });
  filesBackupId = backup.id;
  await pg.psql('CREATE DATABASE app');
  await pg.psql(
    "CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 50000) g; CREATE TABLE notes (body text);",
    'app',
  );
}, 300_000);
afterAll(async () => {
  await ssh?.close();
  await host?.dispose();
  await pg?.dispose();
  await temp?.remove();
});

describe('file restores streamed over a real sshd', () => {
  it('extracts the archive streamed into tar -x, with no copy on the host, byte for byte', async () => {
    const restored = path.join(temp.dir, 'restored');
    await restoreFiles({
      transport: streamingOnly,
      repository,
      backup: { id: filesBackupId },
      targetDir: restored,
    });
    expect(await snapshotTree(path.join(restored, tree))).toEqual(await snapshotTree(tree));
    // Nothing but the backup's own top folder: the staging folder was published and is gone.
    expect(await readdir(restored)).toEqual([tree.split('/')[1]]);
    const check = await compareRestoredFiles({
      transport: streamingOnly,
      repository,
      backup: { id: filesBackupId },
      targetDir: restored,
    });
    expect(check.differences).toEqual([]);
  });

  for (const [what, damage] of [
    ['one byte of the archive flipped', flipped],
    ['an archive that is whole but not the one its manifest names', otherDigest],
  ] as const) {
    it(`refuses ${what} mid-stream: BACKUP_CORRUPT, the target stays absent`, async () => {
      const id = await damagedCopy(filesBackupId, damage);
      const restored = path.join(temp.dir, `refused-${id.slice(-6)}`);
      await expect(
        restoreFiles({ transport: ssh, repository, backup: { id }, targetDir: restored }),
      ).rejects.toMatchObject({
        code: 'BACKUP_CORRUPT',
        message: expect.stringContaining('nothing was restored'),
      });
      // mkdir -p made the target; the staging folder inside it is gone: it is empty.
      expect(await readdir(restored)).toEqual([]);
      await expect(
        compareRestoredFiles({ transport: ssh, repository, backup: { id }, targetDir: restored }),
      ).rejects.toMatchObject({ code: 'BACKUP_CORRUPT' });
    });
  }

  it('with overwrite, a damaged archive leaves every existing file as it was', async () => {
    const restored = path.join(temp.dir, 'live');
    const live = path.join(restored, tree, 'conf');
    await mkdir(live, { recursive: true });
    await writeFile(path.join(live, 'app.ini'), 'live settings\n');
    await writeFile(path.join(restored, 'other.txt'), 'not in the backup\n');
    const before = await snapshotTree(restored);
    const id = await damagedCopy(filesBackupId, otherDigest);
    await expect(
      restoreFiles({
        transport: ssh,
        repository,
        backup: { id },
        targetDir: restored,
        overwrite: true,
      }),
    ).rejects.toMatchObject({ code: 'BACKUP_CORRUPT' });
    expect(await snapshotTree(restored)).toEqual(before);
    // The intact backup over the same folder: its files replace theirs, the others stay.
    await restoreFiles({
      transport: ssh,
      repository,
      backup: { id: filesBackupId },
      targetDir: restored,
      overwrite: true,
    });
    expect(await readFile(path.join(live, 'app.ini'), 'utf8')).toBe('[app]\nport = 8080\n');
    expect(await readFile(path.join(restored, 'other.txt'), 'utf8')).toBe('not in the backup\n');
    expect(await snapshotTree(path.join(restored, tree))).toEqual(await snapshotTree(tree));
    expect((await readdir(restored)).filter((e) => e.startsWith('.opsbook'))).toEqual([]);
  });

  it('a restore cancelled mid-stream stops, and the host removes what it had extracted', async () => {
    const restored = path.join(temp.dir, 'cancelled');
    const controller = new AbortController();
    const pending = restoreFiles({
      transport: ssh,
      repository,
      backup: { id: filesBackupId },
      targetDir: restored,
      signal: controller.signal,
    });
    await waitFor(
      async () => (await stagedBytes(restored, tree)) > 1024 * 1024,
      'the archive to be mid-stream',
    );
    controller.abort();
    await expect(pending).rejects.toMatchObject({ kind: 'interrupted' });
    // The host saw its input end without the verdict: it removes the staging folder itself.
    await waitFor(async () => (await readdir(restored)).length === 0, 'the staging folder to go');
  });

  it('a restore on this machine (where: local) cancelled mid-stream says what became of it and of the kill, as over SSH', async () => {
    const restored = path.join(temp.dir, 'cancelled-local');
    const controller = new AbortController();
    const pending = restoreFiles({
      transport: createLocalTransport({ host: 'runner-1' }),
      repository,
      backup: { id: filesBackupId },
      targetDir: restored,
      signal: controller.signal,
    });
    await waitFor(
      async () => (await stagedBytes(restored, tree)) > 1024 * 1024,
      'the archive to be mid-stream',
    );
    controller.abort();
    const error = await pending.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CommandCancelledError);
    expect(error).toMatchObject({ isKillConfirmed: true, host: 'runner-1' });
    expect(String((error as Error).message)).toMatch(
      new RegExp(
        `^the restore of ${filesBackupId} into ${restored} on runner-1 was cancelled before the whole archive was sent; nothing of it was restored`,
      ),
    );
  });

  it('a restore cancelled after the whole archive was sent waits for its exit: completed, said so', async () => {
    const small = path.join(temp.dir, 'small-source');
    await mkdir(small);
    await writeFile(path.join(small, 'app.ini'), '[app]\nport = 8081\n');
    const { backup } = await backupFiles({ transport: ssh, repository, paths: [small] });
    const restored = path.join(temp.dir, 'cancelled-whole');
    const controller = new AbortController();
    const error = await restoreFiles({
      transport: onWholeArchiveSent(ssh, () => controller.abort()),
      repository,
      backup: { id: backup.id },
      targetDir: restored,
      signal: controller.signal,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(controller.signal.aborted).toBe(true);
    expect(error).toBeInstanceOf(RestoreCancelledError);
    expect(error).toMatchObject({ restore: 'completed', isKillConfirmed: true });
    expect((error as Error).message).toBe(
      `the restore of ${backup.id} into ${restored} on ${ssh.host} was cancelled after the whole archive was sent; the restore completed before the kill reached it (its command exited 0): ${restored} on ${ssh.host} holds the backup`,
    );
    expect(await readFile(path.join(restored, small, 'app.ini'), 'utf8')).toBe(
      '[app]\nport = 8081\n',
    );
  });

  it('a backup of / restores the target folder’s own mode and mtime, and tar --compare agrees', async () => {
    // A hand-made backup of "/" (members ./, ./etc/…): the archive a backup of / holds.
    const fakeRoot = path.join(temp.dir, 'fake-root');
    await mkdir(path.join(fakeRoot, 'etc'), { recursive: true });
    await writeFile(path.join(fakeRoot, 'etc', 'hostname'), 'web-1\n');
    await chmod(fakeRoot, 0o751);
    await utimes(fakeRoot, new Date('2020-02-02T00:00:00Z'), new Date('2020-02-02T00:00:00Z'));
    const id = await damagedCopy(filesBackupId, async (archive, manifest) => {
      await run('tar', ['-C', fakeRoot, '--create', '--file', archive, '.']);
      const bytes = await readFile(archive);
      manifest.paths = ['/'];
      manifest.source = 'files:/';
      manifest.archives[0] = {
        ...manifest.archives[0]!,
        size: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      };
    });
    const restored = path.join(temp.dir, 'root-restored');
    await restoreFiles({ transport: ssh, repository, backup: { id }, targetDir: restored });
    const info = await stat(restored);
    expect(info.mode & 0o7777).toBe(0o751);
    expect(info.mtime.toISOString()).toBe('2020-02-02T00:00:00.000Z');
    expect(await readFile(path.join(restored, 'etc', 'hostname'), 'utf8')).toBe('web-1\n');
    const check = await compareRestoredFiles({
      transport: ssh,
      repository,
      backup: { id },
      targetDir: restored,
    });
    expect(check.differences).toEqual([]);
    await rm(restored, { recursive: true, force: true });
  });
});

describe('PostgreSQL restores streamed over a real sshd', () => {
  let dumpId = '';
  const tablesOf = async (database: string) =>
    (
      await pg.psql(
        "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace",
        database,
      )
    ).trim();

  beforeAll(async () => {
    const { backup } = await backupPostgres({ transport: ssh, repository, target: target('app') });
    dumpId = backup.id;
  }, 300_000);

  it('restores in one transaction streamed into pg_restore, with no copy on the host, every table equal', async () => {
    await pg.psql('CREATE DATABASE streamed');
    const out = await restorePostgres({
      transport: streamingOnly,
      repository,
      backup: { id: dumpId },
      target: target('streamed'),
    });
    expect(out.differences).toEqual([]);
    expect(out.tables?.map((t) => [t.name, t.rows])).toEqual([
      ['public.notes', 0],
      ['public.orders', 50000],
    ]);
  });

  for (const [what, damage] of [
    ['one byte of the dump flipped', flipped],
    ['a dump that is whole but not the one its manifest names', otherDigest],
  ] as const) {
    it(`refuses ${what}: BACKUP_CORRUPT, and pg_restore committed nothing`, async () => {
      const id = await damagedCopy(dumpId, damage);
      const database = `refused_${id.slice(-6)}`;
      await pg.psql(`CREATE DATABASE ${database}`);
      await expect(
        restorePostgres({ transport: ssh, repository, backup: { id }, target: target(database) }),
      ).rejects.toMatchObject({
        code: 'BACKUP_CORRUPT',
        message: expect.stringContaining('nothing was restored'),
      });
      expect(await tablesOf(database)).toBe('0');
    });
  }

  it('a pg_restore that fails part way leaves the target as it was (one transaction)', async () => {
    // The target already has one of the dump's tables: the dump's CREATE TABLE fails after
    // pg_restore created the other one; the transaction takes both back.
    await pg.psql('CREATE DATABASE occupied');
    await pg.psql(
      'CREATE TABLE orders (precious text); INSERT INTO orders VALUES ($$keep$$)',
      'occupied',
    );
    await expect(
      restorePostgres({
        transport: ssh,
        repository,
        backup: { id: dumpId },
        target: target('occupied'),
      }),
    ).rejects.toMatchObject({
      code: 'RESTORE_FAILED',
      message: expect.stringMatching(/already exists.*nothing was restored/),
    });
    expect(await tablesOf('occupied')).toBe('1');
    expect((await pg.psql('SELECT precious FROM orders', 'occupied')).trim()).toBe('keep');
  });

  it('a restore cancelled after the whole dump was sent waits for its exit: failed, said so', async () => {
    await pg.psql('CREATE DATABASE occupied_too');
    await pg.psql(
      'CREATE TABLE orders (precious text); INSERT INTO orders VALUES ($$keep$$)',
      'occupied_too',
    );
    const controller = new AbortController();
    const error = await restorePostgres({
      transport: onWholeArchiveSent(ssh, () => controller.abort()),
      repository,
      backup: { id: dumpId },
      target: target('occupied_too'),
      signal: controller.signal,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(controller.signal.aborted).toBe(true);
    expect(error).toBeInstanceOf(RestoreCancelledError);
    expect(error).toMatchObject({ restore: 'failed', isKillConfirmed: true });
    expect((error as Error).message).toBe(
      `the restore of ${dumpId} into occupied_too on ${ssh.host} was cancelled after the whole archive was sent; the restore failed (its command exited 3): pg_restore committed nothing of it (one transaction), occupied_too on ${ssh.host} is as it was`,
    );
    expect((await pg.psql('SELECT precious FROM orders', 'occupied_too')).trim()).toBe('keep');
  });
});
