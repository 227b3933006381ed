import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, stackTrace, userEnv } from './run-cli.js';

/** `pnpm -s opsbook …` as a user types it in `cwd`, a folder of this repository. */
function pnpmOpsbook(cwd: string, ...args: string[]) {
  const r = spawnSync('pnpm', ['-s', 'opsbook', ...args], {
    cwd,
    env: userEnv(),
    encoding: 'utf8',
  });
  if (r.error) throw r.error;
  return r;
}

describe('pnpm -s opsbook from any folder of the workspace', () => {
  it('runs in a runbook folder, which has no `opsbook` script (runbooks may not have scripts)', () => {
    const r = pnpmOpsbook(path.join(repoRoot, 'runbooks/disk-cleanup'), 'show', 'disk-cleanup');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/disk-cleanup/);
    // Paths are the user's folder's: `.` is the runbook itself.
    const here = pnpmOpsbook(path.join(repoRoot, 'runbooks/disk-cleanup'), 'digest', '.');
    expect(here.status).toBe(0);
    expect(here.stdout).toMatch(/sha256:[0-9a-f]{64}/);
  });

  it('runs in a package folder', async () => {
    const { version } = JSON.parse(
      await readFile(path.join(repoRoot, 'packages/cli/package.json'), 'utf8'),
    );
    const r = pnpmOpsbook(path.join(repoRoot, 'packages/inventory'), '--version');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });

  it('says to build first, without a stack trace, before the first build', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'opsbook-unbuilt-'));
    try {
      // The repository's layout with no dist/: what a clone holds before `pnpm build`.
      const shim = path.join(dir, 'packages/cli/bin/opsbook.cjs');
      await mkdir(path.dirname(shim), { recursive: true });
      await copyFile(path.join(repoRoot, 'packages/cli/bin/opsbook.cjs'), shim);
      const r = spawnSync(process.execPath, [shim, 'validate'], {
        env: userEnv(),
        encoding: 'utf8',
      });
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `opsbook is not built yet: run \`pnpm build\` in ${dir} (the repository's root), then try again\n`,
      );
      expect(r.stderr).not.toMatch(stackTrace);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
