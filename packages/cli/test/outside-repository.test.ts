import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, stackTrace } from './run-cli.js';

// A newcomer's first commands, typed in the wrong folder: no opsbook.yaml in it or above it, and
// no runbooks/ folder. That is not "a new repository with no runbook yet".
let tmp: { dir: string; remove: () => Promise<void> };
let nowhere: string;
beforeAll(async () => {
  tmp = await makeTempDir();
  nowhere = path.join(tmp.dir, 'not-a-repository');
  await mkdir(nowhere);
});
afterAll(() => tmp.remove());

const outside = (cwd: string) =>
  `there is no opsbook.yaml in ${cwd} or any folder above it, and no runbooks folder here: run opsbook inside your runbook repository (cd into it), or name its opsbook.yaml with --config FILE`;

describe('opsbook outside any repository', () => {
  it('fails opsbook validate and lint (exit 2), so a CI job in the wrong folder does not pass', async () => {
    for (const command of ['validate', 'lint']) {
      const r = await runCli([command], { cwd: nowhere });
      expect(r.stderr).toBe(`error: no runbooks to ${command}: ${outside(nowhere)}\n`);
      expect(r.stdout).toBe('');
      expect(r.code).toBe(2);
    }
  });

  it('says so for a runbook named, instead of "there are no runbooks yet"', async () => {
    const r = await runCli(['show', 'disk-cleanup'], { cwd: nowhere });
    expect(r.stderr).toBe(`error: no runbook 'disk-cleanup' in runbooks: ${outside(nowhere)}\n`);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code).toBe(2);
    const list = await runCli(['list'], { cwd: nowhere });
    expect(list).toMatchObject({
      code: 0,
      stdout: '',
      stderr: `no runbooks: ${outside(nowhere)}\n`,
    });
  });

  it('still passes a repository with opsbook.yaml and no runbook yet', async () => {
    const fresh = path.join(tmp.dir, 'fresh');
    await mkdir(fresh);
    await writeFile(path.join(fresh, 'opsbook.yaml'), 'apiVersion: opsbook/v1\nkind: Config\n');
    const r = await runCli(['validate'], { cwd: fresh });
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: 'no runbooks found in runbooks\n' });
  });

  it('names a runbooks folder outside the working folder by its absolute path', async () => {
    const elsewhere = path.join(tmp.dir, 'elsewhere');
    await mkdir(elsewhere);
    const runbooks = path.join(repoRoot, 'runbooks');
    await writeFile(
      path.join(elsewhere, 'opsbook.yaml'),
      `apiVersion: opsbook/v1\nkind: Config\nrunbooks: ${runbooks}\n`,
    );
    const r = await runCli(['show', 'disk-cleanp'], { cwd: elsewhere });
    expect(r.stderr).toBe(
      `error: no runbook 'disk-cleanp' in ${runbooks}: did you mean 'disk-cleanup'?\n`,
    );
    expect(r.code).toBe(2);
  });
});
