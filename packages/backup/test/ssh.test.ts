import path from 'node:path';
import type { Transport } from '@opsbook/exec';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { type Sshd, startSshdHosts } from '@opsbook/testkit/sshd';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupActions, restoreFiles, verifyRepository } from '../src/index.js';
import { makeAwkwardTree, snapshotTree } from './file-tree.js';
import { connectTestHost } from './test-hosts.js';

let hosts: Sshd[] = [];
let pg: Postgres;
let temp: { dir: string; remove: () => Promise<void> };
let transport: Transport;
let tree: string;
let filesRepository: string;

beforeAll(async () => {
  temp = await makeTempDir('opsbook-backup-ssh-');
  hosts = await startSshdHosts(1);
  pg = await startPostgres();
  transport = await connectTestHost(hosts[0]!, temp.dir);
  tree = path.join(temp.dir, 'tree');
  filesRepository = path.join(temp.dir, 'repo-files');
  await makeAwkwardTree(tree);
  await pg.psql(
    "CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 3000) g;",
  );
});
afterAll(async () => {
  await transport?.close();
  await Promise.all(hosts.map((h) => h.dispose()));
  await pg?.dispose();
  await temp?.remove();
});

const ctx = (
  action: string,
  withValue: Record<string, unknown>,
  repository: string,
  secrets: Record<string, string> = {},
) =>
  backupActions.get(action)!.run({
    transport,
    host: 'web-1',
    with: withValue,
    repository,
    runId: 'run-ssh',
    secrets,
    signal: new AbortController().signal,
  });

describe('backups over a real sshd', () => {
  // Every command over SSH starts root's login shell, whose .bashrc (pyenv) is slow on this
  // machine, so these tests get a generous guard instead of the shared 2-minute one.
  it('streams a file tree as tar over the SSH channel into the repository', {
    timeout: 600_000,
  }, async () => {
    const result = await ctx('backup.files', { paths: [tree] }, filesRepository);
    expect(result).toMatchObject({ ok: true, data: { warnings: [] } });
    // compression auto: the host has zstd, and said so on the first line of the stream.
    expect(result.data.archives).toEqual([
      expect.objectContaining({ name: 'files.tar.zst', format: 'tar+zstd' }),
    ]);
    const verify = await ctx('backup.verify', {}, filesRepository);
    expect(verify).toMatchObject({ ok: true, summary: '1 backup(s) verified' });
  });

  it('restores that backup over SSH byte for byte', { timeout: 600_000 }, async () => {
    const target = path.join(temp.dir, 'restored');
    await restoreFiles({
      transport,
      repository: filesRepository,
      backup: { id: 'latest' },
      targetDir: target,
    });
    expect(await snapshotTree(path.join(target, tree))).toEqual(await snapshotTree(tree));
  });

  it('dumps PostgreSQL on the host with the password from a secret param, restores it, and the post-check compares every table', {
    timeout: 600_000,
  }, async () => {
    const repository = path.join(temp.dir, 'repo-pg');
    const conn = {
      dbHost: pg.host,
      dbPort: pg.port,
      dbUser: pg.user,
      passwordParam: 'db_password',
    };
    const secrets = { db_password: pg.password };
    const dumped = await ctx(
      'backup.postgres',
      { database: 'postgres', ...conn },
      repository,
      secrets,
    );
    expect(dumped).toMatchObject({
      ok: true,
      data: { tables: [{ name: 'public.orders', rows: 3000 }] },
    });
    await pg.psql('CREATE DATABASE restored');
    const pre = await ctx(
      'backup.compare',
      { database: 'restored', expect: 'empty', ...conn },
      repository,
      secrets,
    );
    expect(pre.ok).toBe(true);
    const restored = await ctx(
      'backup.restore',
      { backup: 'latest', database: 'restored', ...conn },
      repository,
      secrets,
    );
    expect(restored).toMatchObject({ ok: true, data: { differences: [] } });
    const post = await ctx(
      'backup.compare',
      { database: 'restored', expect: 'backup', ...conn },
      repository,
      secrets,
    );
    expect(post).toMatchObject({ ok: true, data: { differences: [] } });
    const notEmpty = await ctx(
      'backup.compare',
      { database: 'restored', expect: 'empty', ...conn },
      repository,
      secrets,
    );
    expect(notEmpty.ok).toBe(false);
    await pg.psql('DELETE FROM orders WHERE id = 42', 'restored');
    const drifted = await ctx(
      'backup.compare',
      { database: 'restored', expect: 'backup', ...conn },
      repository,
      secrets,
    );
    expect(drifted).toMatchObject({
      ok: false,
      data: {
        differences: [
          { table: 'public.orders', problem: 'rows', expected: '3000', actual: '2999' },
        ],
      },
    });
    expect((await verifyRepository(repository)).ok).toBe(true);
  });
});
