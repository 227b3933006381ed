import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { createWorld, siteOnTmpfs, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { header } from './runbook-fixtures.js';

/*
 * A backup larger than the room left where the runner keeps its backups (`<stateDir>/backups`,
 * here a small tmpfs, a real filesystem that fills): the archive's write meets ENOSPC mid-way.
 * The engineer must read which repository is full and what to do, not Node's errno text; no
 * half-written archive may stay to break `backup list` or `verify`; and once the room is back
 * the next backup works. Real sshd host, the real binary; mounting needs root, as the test
 * machines run (a test that cannot mount fails rather than skips).
 */

const backupRunbook = {
  yaml: `${header('files-backup', 'routine', 'P4')}spec:
  params:
    path: {type: string, required: true, pattern: "^/"}
  targets: {default: all}
  steps:
    - id: files
      name: Archive the folder into the backup repository
      uses: backup.files
      with:
        paths: ["{{ params.path }}"]
        compression: none
    - id: verify
      name: Hash every backup against its manifest
      uses: backup.verify
`,
};

let world: World;
beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { 'files-backup': backupRunbook } });
  await mkdir(world.stateDir, { recursive: true }); // createSite copies it
}, 120_000);
afterAll(async () => {
  await world?.remove();
});

describe('a backup repository whose disk fills during a backup', () => {
  it('names the full repository and what to do, keeps no half archive, and the next backup works', async () => {
    const src = path.join(world.markerDir, 'backup-full-src');
    await mkdir(src);
    await writeFile(path.join(src, 'small.conf'), 'keep me\n');
    const { site, unmount } = await siteOnTmpfs(world, 'opsbook-backup-full', 3072);
    try {
      const approve = (name: string) =>
        approvedFile(site, 'files-backup', `${name}.json`, [world.people.alice], {
          params: { path: src },
        });
      const first = await site.opsbook(['run', await approve('first')]);
      expect(first.code, first.stderr).toBe(0);

      // 4 MiB that no compression shrinks, into a 3 MiB filesystem.
      await writeFile(path.join(src, 'big.bin'), randomBytes(4 * 1024 * 1024));
      const full = await site.opsbook(['run', await approve('full'), '--json']);
      expect(full.stderr).not.toMatch(stackTrace);
      expect(full.code).toBe(1);
      const doc = JSON.parse(full.stdout) as {
        hosts: Array<{ steps: Array<{ id: string; status: string; reason?: string }> }>;
      };
      const step = doc.hosts[0]!.steps.find((s) => s.id === 'files')!;
      const repository = path.join(site.stateDir, 'backups');
      expect(step.status).toBe('error');
      expect(step.reason).toContain(`the backup repository ${repository}`);
      expect(step.reason).toContain('no space left on the device (ENOSPC)');
      expect(step.reason).toContain('nothing of it was kept');
      expect(step.reason).toContain('Free space on that filesystem');
      expect(step.reason).not.toContain('ENOSPC: no space left on device, write');

      // Nothing half-written stays: staging is empty, the listing and the checks are whole.
      expect(await readdir(path.join(repository, 'staging'))).toEqual([]);
      const list = await site.opsbook(['backup', 'list', '--json']);
      expect(list.code, list.stderr).toBe(0);
      expect((JSON.parse(list.stdout) as { backups: unknown[] }).backups).toHaveLength(1);
      const verify = await site.opsbook(['backup', 'verify']);
      expect(verify.code, verify.stderr).toBe(0);
      const journals = await site.opsbook(['journal', 'verify']);
      expect(journals.code, journals.stdout).toBe(0);
      const runs = await site.opsbook(['runs', 'list']);
      expect(runs.code, runs.stderr).toBe(0);
      expect(runs.stdout).toMatch(/^\S+\s+failed\s/m);

      // Room again (the big file gone from what is backed up): the next backup is taken whole.
      await rm(path.join(src, 'big.bin'));
      const again = await site.opsbook(['run', await approve('again')]);
      expect(again.code, again.stderr).toBe(0);
      const after = await site.opsbook(['backup', 'list', '--json']);
      expect((JSON.parse(after.stdout) as { backups: unknown[] }).backups).toHaveLength(2);
    } finally {
      await unmount();
    }
  });
});
