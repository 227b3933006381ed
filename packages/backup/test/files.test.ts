import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLocalTransport } from '@opsbook/exec';
import { processStartTime } from '@opsbook/schema';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backupFiles,
  listBackups,
  openRepository,
  pruneRepository,
  restoreFiles,
  verifyRepository,
} from '../src/index.js';
import { makeAwkwardTree, snapshotTree } from './file-tree.js';
import { versionLineOf } from './test-hosts.js';

let temp: { dir: string; remove: () => Promise<void> };
let tree: string;
let big: string;
const local = createLocalTransport({ host: 'web-1' });
const fixture = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../src/__fixtures__/killed-backup/run-backup.mjs',
);

/** Waits for a condition a bounded number of times (no wall-clock assertion: it only waits). */
async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

function run(command: string, args: string[]): ChildProcess {
  return spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(async () => {
  temp = await makeTempDir('opsbook-backup-files-');
  tree = path.join(temp.dir, 'tree');
  await makeAwkwardTree(tree);
  big = path.join(temp.dir, 'big');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(big);
  await new Promise((resolve, reject) =>
    run('sh', ['-c', `head -c 160000000 /dev/urandom > ${path.join(big, 'random.bin')}`]).once(
      'exit',
      (c) => (c === 0 ? resolve(c) : reject(new Error(`exit ${c}`))),
    ),
  );
});
afterAll(async () => {
  await temp?.remove();
});

describe('file backups through the local transport', () => {
  for (const compression of ['zstd', 'gzip', 'none'] as const) {
    it(`backs up and restores symlinks, a sparse file, a large file and non-UTF-8 names byte for byte (${compression})`, async () => {
      const repository = path.join(temp.dir, `repo-${compression}`);
      const { backup, warnings } = await backupFiles({
        transport: local,
        repository,
        paths: [tree],
        compression,
        runId: 'run-7',
      });
      expect(warnings).toEqual([]);
      expect(backup.manifest).toMatchObject({
        kind: 'files',
        host: 'web-1',
        runId: 'run-7',
        paths: [tree],
        source: `files:${tree}`,
      });
      // The first line of each tool's `--version`, as run on this machine.
      expect(backup.manifest.tools.tar).toBe(versionLineOf('tar'));
      expect(backup.manifest.tools.zstd).toBe(
        compression === 'zstd' ? versionLineOf('zstd') : undefined,
      );
      expect(backup.manifest.archives[0]!.format).toBe(
        compression === 'none' ? 'tar' : `tar+${compression}`,
      );
      // the 512 MiB hole is not stored
      expect(backup.manifest.archives[0]!.size).toBeLessThan(64 * 1024 * 1024);
      expect((await verifyRepository(repository)).ok).toBe(true);

      const target = path.join(temp.dir, `restored-${compression}`);
      await restoreFiles({
        transport: local,
        repository,
        backup: { id: backup.id },
        targetDir: target,
      });
      expect(await snapshotTree(path.join(target, tree))).toEqual(await snapshotTree(tree));
      const sparse = await stat(path.join(target, tree, 'sparse.img'));
      expect(sparse.size).toBe(512 * 1024 * 1024 + 18);
      expect(sparse.blocks * 512).toBeLessThan(1024 * 1024);
      await expect(readdir(path.join(target, tree, 'etc', 'app'))).resolves.not.toContain('pwned');
    });
  }

  it('restores on a host without GNU dd, reading the archive with head -c', async () => {
    const repository = path.join(temp.dir, 'repo-no-dd');
    const { backup } = await backupFiles({
      transport: local,
      repository,
      paths: [path.join(tree, 'etc')],
      compression: 'zstd',
    });
    const bin = path.join(temp.dir, 'bin-without-dd');
    const { mkdir, symlink } = await import('node:fs/promises');
    await mkdir(bin);
    const tools = ['sh', 'head', 'tar', 'zstd', 'ls', 'tr', 'mkdir', 'mktemp', 'rm', 'mv', 'grep'];
    for (const tool of tools) await symlink(`/usr/bin/${tool}`, path.join(bin, tool));
    const target = path.join(temp.dir, 'restored-no-dd');
    await restoreFiles({
      transport: createLocalTransport({ host: 'web-1', env: { ...process.env, PATH: bin } }),
      repository,
      backup: { id: backup.id },
      targetDir: target,
    });
    expect(await snapshotTree(path.join(target, tree, 'etc'))).toEqual(
      await snapshotTree(path.join(tree, 'etc')),
    );
  });

  it('refuses to restore into a non-empty folder unless told to overwrite', async () => {
    const repository = path.join(temp.dir, 'repo-nonempty');
    const { backup } = await backupFiles({
      transport: local,
      repository,
      paths: [path.join(tree, 'etc')],
    });
    const target = path.join(temp.dir, 'occupied');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(target);
    await writeFile(path.join(target, 'precious'), 'keep me');
    await expect(
      restoreFiles({ transport: local, repository, backup: { id: backup.id }, targetDir: target }),
    ).rejects.toMatchObject({ code: 'RESTORE_TARGET_NOT_EMPTY' });
    await restoreFiles({
      transport: local,
      repository,
      backup: { id: 'latest' },
      targetDir: target,
      overwrite: true,
    });
    expect(await snapshotTree(path.join(target, tree, 'etc'))).toEqual(
      await snapshotTree(path.join(tree, 'etc')),
    );
  });

  it('reports a file that changes while tar reads it, in the result and the manifest', async () => {
    const repository = path.join(temp.dir, 'repo-changing');
    const changing = path.join(temp.dir, 'changing');
    const file = path.join(changing, 'growing.log');
    const stop = path.join(temp.dir, 'stop-writer');
    // A large file that keeps growing: tar needs a while to read it, and it changes meanwhile.
    await new Promise((resolve, reject) =>
      run('sh', ['-c', `mkdir -p ${changing} && head -c 64000000 /dev/urandom > ${file}`]).once(
        'exit',
        (c) => (c === 0 ? resolve(c) : reject(new Error(`exit ${c}`))),
      ),
    );
    const writer = run('sh', [
      '-c',
      `i=0; while [ "$i" -lt 5000000 ] && [ ! -e ${stop} ]; do echo "line $i" >> ${file}; i=$((i+1)); done`,
    ]);
    const ended = new Promise((r) => writer.once('exit', r));
    const start = (await stat(file)).size;
    await waitFor(async () => (await stat(file)).size > start, 'the writer to start');
    try {
      const { backup, warnings } = await backupFiles({
        transport: local,
        repository,
        paths: [changing],
        compression: 'none',
      });
      expect(warnings).toEqual(
        expect.arrayContaining([{ path: file, message: 'file changed as we read it' }]),
      );
      expect(backup.manifest.warnings).toEqual(warnings);
      await expect(
        backupFiles({
          transport: local,
          repository,
          paths: [changing],
          compression: 'none',
          onChange: 'fail',
        }),
      ).rejects.toMatchObject({ code: 'BACKUP_SOURCE_CHANGED' });
      expect(
        (await listBackups(await openRepository(repository))).backups.map((b) => b.id),
      ).toEqual([backup.id]);
    } finally {
      await writeFile(stop, '');
      await ended;
    }
  });

  it('fails for a path that does not exist and keeps nothing', async () => {
    const repository = path.join(temp.dir, 'repo-missing');
    await expect(
      backupFiles({ transport: local, repository, paths: [path.join(temp.dir, 'no-such-dir')] }),
    ).rejects.toMatchObject({
      code: 'BACKUP_SOURCE_FAILED',
      message: expect.stringMatching(/No such file/),
    });
    expect(await readdir(path.join(repository, 'backups'))).toEqual([]);
    expect(await readdir(path.join(repository, 'staging'))).toEqual([]);
  });

  it('a cancelled backup stops tar and leaves no archive behind', async () => {
    const repository = path.join(temp.dir, 'repo-cancel');
    const controller = new AbortController();
    const stagingDir = path.join(repository, 'staging');
    const pending = backupFiles({
      transport: local,
      repository,
      paths: [big],
      compression: 'gzip',
      signal: controller.signal,
    });
    await waitFor(async () => {
      const [entry] = await readdir(stagingDir).catch(() => [] as string[]);
      if (!entry) return false;
      const [archive] = await readdir(path.join(stagingDir, entry)).catch(() => [] as string[]);
      return (
        archive !== undefined &&
        (await stat(path.join(stagingDir, entry, archive)).catch(() => undefined))!.size >
          1024 * 1024
      );
    }, 'the archive to grow');
    controller.abort();
    await expect(pending).rejects.toMatchObject({ kind: 'interrupted' });
    expect(await readdir(path.join(repository, 'backups'))).toEqual([]);
    expect(await readdir(stagingDir)).toEqual([]);
  });

  it('a backup process killed mid-stream leaves the repository consistent, and prune clears its remains', async () => {
    const repository = path.join(temp.dir, 'repo-killed');
    await backupFiles({ transport: local, repository, paths: [path.join(tree, 'etc')] });
    const child = spawn(process.execPath, [fixture, repository, big], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: path.dirname(fixture),
    });
    const exited = new Promise((r) => child.once('exit', r));
    const stagingDir = path.join(repository, 'staging');
    await waitFor(async () => {
      const entries = await readdir(stagingDir).catch(() => [] as string[]);
      for (const entry of entries) {
        const [archive] = await readdir(path.join(stagingDir, entry)).catch(() => [] as string[]);
        if (
          archive &&
          ((await stat(path.join(stagingDir, entry, archive)).catch(() => undefined))?.size ?? 0) >
            1024 * 1024
        )
          return true;
      }
      return false;
    }, 'the killed backup to be mid-stream');
    child.kill('SIGKILL');
    await exited;
    const { backups, broken } = await listBackups(await openRepository(repository));
    expect(backups).toHaveLength(1);
    expect(broken).toEqual([]);
    expect((await verifyRepository(repository)).ok).toBe(true);
    const dry = await pruneRepository(repository, { policy: { keepLast: 5 }, dryRun: true });
    expect(dry.abandoned).toHaveLength(1);
    expect(await readdir(stagingDir)).toHaveLength(1);
    const done = await pruneRepository(repository, { policy: { keepLast: 5 } });
    expect(done.removed).toEqual([]);
    expect(await readdir(stagingDir)).toEqual([]);
  });

  it('prune tells a staging folder left by a killed backup even when its PID now belongs to another process', async () => {
    const repository = path.join(temp.dir, 'repo-reused-pid');
    await backupFiles({ transport: local, repository, paths: [path.join(tree, 'etc')] });
    const stagingDir = path.join(repository, 'staging');
    const own = processStartTime(process.pid);
    expect(own).toMatch(/^\d+$/);
    const id = '20240501T100000Z-files-web-1-abcdef';
    // This process is alive: one folder names it with its own start time (a backup in flight),
    // one with another (a killed backup whose PID was reused), one with the PID alone (earlier
    // versions), which counts as in flight while the PID is alive.
    const inFlight = `${id}.${process.pid}-${own}`;
    const reused = `${id}.${process.pid}-${Number(own) + 1}`;
    const legacy = `${id}.${process.pid}`;
    for (const name of [inFlight, reused, legacy]) await mkdir(path.join(stagingDir, name));
    const dry = await pruneRepository(repository, { policy: { keepLast: 5 }, dryRun: true });
    expect(dry.abandoned).toEqual([path.join(stagingDir, reused)]);
    await pruneRepository(repository, { policy: { keepLast: 5 } });
    expect((await readdir(stagingDir)).sort()).toEqual([inFlight, legacy].sort());
  });
});
