import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bareWorkspace } from './bare-workspace.js';
import { runCli, stackTrace } from './run-cli.js';

let dir: string;
let remove: () => Promise<void>;
beforeAll(async () => {
  ({ dir, remove } = await bareWorkspace('opsbook-backup-empty-'));
});
afterAll(async () => {
  await remove?.();
});

describe('backup commands before the first backup on this machine', () => {
  it('list, verify and prune say there are no backups yet (exit 0), and make nothing', async () => {
    const repo = path.join(dir, 'state', 'backups');
    for (const command of [['list'], ['verify'], ['prune', '--keep-last', '3']]) {
      const r = await runCli(['backup', ...command], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`no backups yet: ${repo} does not exist`);
      expect(r.stderr).not.toMatch(stackTrace);
    }
    const json = await runCli(['backup', 'list', '--json'], { cwd: dir });
    expect(JSON.parse(json.stdout)).toEqual({ repository: repo, backups: [], broken: [] });
    const noRepo = await runCli(['backup', 'list'], { cwd: dir });
    expect(noRepo.stdout).toBe('');
    // A backup named where there are none yet is a mistake (exit 2), said plainly.
    const named = await runCli(['backup', 'verify', '20261206T101010Z-files-db1-abc123'], {
      cwd: dir,
    });
    expect(named.code).toBe(2);
    expect(named.stderr).toContain(`no backups yet: ${repo} does not exist`);
    expect(named.stderr).toContain('no backup 20261206T101010Z-files-db1-abc123 on this machine');
  });

  it('still refuses (exit 2) a --repository that is not one: a mistyped path', async () => {
    await mkdir(path.join(dir, 'elsewhere'), { recursive: true });
    for (const where of ['nowhere', 'elsewhere']) {
      const r = await runCli(['backup', 'list', '--repository', where], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        `${path.join(dir, where)} is not a backup repository: it has no backups/ folder inside it`,
      );
    }
  });
});
