import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createLocalTransport } from '@opsbook/exec';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backupFiles,
  compareRestoredFiles,
  copyOffHost,
  listBackups,
  openRepository,
  restoreFiles,
  restoreTargetState,
} from '../src/index.js';

/*
 * The checks around a file restore and the off-host copy's hashing, with the local transport
 * (the same shell commands as over SSH; the sshd runs are in packages/cli/test/backup-sshd.test.ts).
 */

let temp: { dir: string; remove: () => Promise<void> };
const local = createLocalTransport({ host: 'web-1' });
let repository = '';
let source = '';

beforeAll(async () => {
  temp = await makeTempDir('opsbook-restore-check-');
  repository = path.join(temp.dir, 'repo');
  source = path.join(temp.dir, 'src');
  await mkdir(path.join(source, 'conf'), { recursive: true });
  await writeFile(path.join(source, 'conf', 'a.ini'), 'a = 1\n');
  await writeFile(path.join(source, 'b.txt'), 'bee\n');
  await backupFiles({ transport: local, repository, paths: [source], runId: 'run-1' });
});
afterAll(async () => {
  await temp?.remove();
});

describe('restore checks', () => {
  it('tells an absent, an empty and a busy folder apart', async () => {
    const dir = path.join(temp.dir, 'state');
    expect(await restoreTargetState(local, dir)).toEqual({
      target: dir,
      exists: false,
      entries: 0,
    });
    await mkdir(dir);
    expect((await restoreTargetState(local, dir)).entries).toBe(0);
    await writeFile(path.join(dir, 'x'), '');
    expect(await restoreTargetState(local, dir)).toEqual({ target: dir, exists: true, entries: 1 });
  });

  it('finds no difference in a fresh restore, and names a changed and a removed file', async () => {
    const target = path.join(temp.dir, 'restored');
    await restoreFiles({
      transport: local,
      repository,
      backup: { id: 'latest' },
      targetDir: target,
    });
    const check = () =>
      compareRestoredFiles({
        transport: local,
        repository,
        backup: { id: 'latest' },
        targetDir: target,
      });
    expect((await check()).differences).toEqual([]);
    const restored = path.join(target, source);
    await writeFile(path.join(restored, 'b.txt'), 'wasp\n');
    await rm(path.join(restored, 'conf', 'a.ini'));
    const differences = (await check()).differences.join('\n');
    expect(differences).toMatch(/b\.txt: (Contents|Size) differ/);
    expect(differences).toMatch(/a\.ini: Warning: Cannot stat: No such file or directory/);
  });
});

describe('copyOffHost', () => {
  it('copies a backup, checks it on the destination, and finds the copy altered later', async () => {
    const repo = await openRepository(repository);
    const { backups } = await listBackups(repo);
    const destination = { to: 'vault', path: path.join(temp.dir, 'vault') };
    const first = await copyOffHost({ transport: local, destination, copy: backups });
    expect(first.ok).toBe(true);
    expect(first.checks.map((c) => [c.action, c.ok])).toEqual([['copied', true]]);
    const entry = backups[0]!;
    const archive = path.join(
      destination.path,
      'backups',
      entry.id,
      entry.manifest.archives[0]!.name,
    );
    expect(await readFile(archive)).toEqual(
      await readFile(path.join(entry.dir, entry.manifest.archives[0]!.name)),
    );
    await writeFile(archive, 'not the archive');
    const again = await copyOffHost({ transport: local, destination, copy: [], recheck: backups });
    expect(again.ok).toBe(false);
    expect(again.checks).toEqual([
      expect.objectContaining({
        backupId: entry.id,
        action: 'checked',
        ok: false,
        mismatches: [entry.manifest.archives[0]!.name],
      }),
    ]);
  });
});
