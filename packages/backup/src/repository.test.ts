import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findBackup, listBackups, openRepository } from './repository.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-repo-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** A files backup of `host` in the repository, its archive `content`. */
async function backup(id: string, host: string, startedAt: string, content: string) {
  const at = path.join(dir, 'backups', id);
  await mkdir(at, { recursive: true });
  await writeFile(path.join(at, 'files.tar'), content);
  const manifest = {
    format: 'opsbook-backup/v1',
    id,
    kind: 'files',
    source: 'files:/etc/app',
    host,
    paths: ['/etc/app'],
    startedAt,
    finishedAt: startedAt,
    runId: null,
    tools: {},
    warnings: [],
    archives: [
      {
        name: 'files.tar',
        size: content.length,
        sha256: createHash('sha256').update(content).digest('hex'),
        format: 'tar',
      },
    ],
  };
  await writeFile(path.join(at, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return at;
}

describe('a backup bound by its manifest digest', () => {
  it('is the sha256 of manifest.json as read, and findBackup refuses another (BACKUP_CHANGED)', async () => {
    const first = await backup('b1', 'web-1', '2026-12-01T00:00:00Z', 'one');
    await backup('b2', 'web-1', '2026-12-02T00:00:00Z', 'two');
    const repo = await openRepository(dir);
    const { backups } = await listBackups(repo);
    const bytes = await readFile(path.join(first, 'manifest.json'));
    expect(backups[0]?.manifestDigest).toBe(
      `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    );
    const bound = backups[0]!.manifestDigest;
    expect((await findBackup(repo, { id: 'b1', manifest: bound })).id).toBe('b1');
    // latest of web-1 is b2: a plan that bound b1's manifest to "latest" gets b2, and is refused.
    await expect(
      findBackup(repo, { id: 'latest', host: 'web-1', manifest: bound }),
    ).rejects.toMatchObject({ code: 'BACKUP_CHANGED', kind: 'refused' });
    // The same id with its archive and manifest replaced (sha256 and size matching) is refused.
    await backup('b1', 'web-1', '2026-12-01T00:00:00Z', 'evil');
    await expect(findBackup(repo, { id: 'b1', manifest: bound })).rejects.toThrow(
      /backup b1 .* is not the one the approval bound: its manifest is sha256:[0-9a-f]{64}, the plan signed sha256:/,
    );
    // Without a bound manifest (a check planned before the backup existed), it is found as before.
    expect((await findBackup(repo, { id: 'b1' })).id).toBe('b1');
  });
});
