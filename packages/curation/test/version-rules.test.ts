import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadRunbook } from '@opsbook/schema';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lintRunbooks } from '../src/index.js';
import { runbookYaml } from './lint-fixture.js';

/*
 * Issue #20 item 2, with real git: a runbook changed since a revision needs a new version or a
 * pending changeset naming its package; a README edit needs neither.
 */

const git = promisify(execFile);
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let repo = '';
let dir = '';

const yaml = (command: string) =>
  runbookYaml({ phases: `  steps:\n    - {id: look, name: Look, run: ${command}}` });

async function commit(message: string) {
  await git('git', ['-C', repo, 'add', '-A']);
  await git('git', [
    '-C',
    repo,
    '-c',
    'user.name=t',
    '-c',
    'user.email=t@example.com',
    'commit',
    '-qm',
    message,
  ]);
}

async function versionFindings(rev = 'HEAD') {
  const loaded = await loadRunbook(dir, { cwd: repo });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  const report = await lintRunbooks([loaded.bundle], { since: { rev, cwd: repo } });
  return report.runbooks[0]!.findings.filter((f) => f.rule === 'version-unchanged');
}

beforeEach(async () => {
  temp = await makeTempDir('opsbook-version-rule-');
  repo = temp.dir;
  dir = path.join(repo, 'runbooks', 'fx');
  await mkdir(dir, { recursive: true });
  await git('git', ['-C', repo, 'init', '-q']);
  await writeFile(path.join(dir, 'runbook.yaml'), yaml('uptime'));
  await writeFile(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: '@runbooks/fx', version: '1.0.0', private: true }),
  );
  await writeFile(path.join(dir, 'README.md'), '# fx\n');
  await commit('release');
});
afterEach(async () => {
  await temp.remove();
});

describe('the version rule (lint --since REV)', () => {
  it('says nothing of an unchanged runbook, nor of a README edit', async () => {
    expect(await versionFindings()).toEqual([]);
    await writeFile(path.join(dir, 'README.md'), '# fx\n\nMore words.\n');
    expect(await versionFindings()).toEqual([]);
  });

  it('refuses a changed runbook with the same version and no changeset, naming the fix', async () => {
    await writeFile(path.join(dir, 'runbook.yaml'), yaml('uptime; df -h'));
    const [finding, ...more] = await versionFindings();
    expect(more).toEqual([]);
    expect(finding).toMatchObject({ severity: 'error', line: 1, runbook: 'fx' });
    expect(finding?.message).toBe(
      'fx changed since HEAD (runbook.yaml), but its version is still 1.0.0 and no changeset in .changeset/ names @runbooks/fx: run pnpm changeset and pick @runbooks/fx (or raise the version in its package.json)',
    );
    // A script added counts as a change too, committed or not.
    await mkdir(path.join(dir, 'scripts'));
    await writeFile(path.join(dir, 'scripts', 'x.sh'), 'echo x\n');
    await commit('work');
    expect((await versionFindings('HEAD~1'))[0]?.message).toContain(
      'changed since HEAD~1 (runbook.yaml, scripts/x.sh)',
    );
  });

  it('accepts the change with a pending changeset naming the package, or a raised version', async () => {
    await writeFile(path.join(dir, 'runbook.yaml'), yaml('uptime; df -h'));
    await mkdir(path.join(repo, '.changeset'));
    await writeFile(
      path.join(repo, '.changeset', 'other.md'),
      '---\n"@runbooks/other": patch\n---\n\nNot this one.\n',
    );
    expect(await versionFindings()).toHaveLength(1);
    await writeFile(
      path.join(repo, '.changeset', 'fx.md'),
      '---\n"@runbooks/fx": minor\n---\n\nfx also shows the disks.\n',
    );
    expect(await versionFindings()).toEqual([]);
    await writeFile(
      path.join(repo, '.changeset', 'fx.md'),
      "---\n'@runbooks/fx': patch\n---\n\nSingle quotes are YAML too.\n",
    );
    expect(await versionFindings()).toEqual([]);
    await writeFile(path.join(repo, '.changeset', 'fx.md'), 'no front matter\n');
    expect(await versionFindings()).toHaveLength(1);
    // Unquoted, `@` starts no YAML key: changesets refuses the file, so it names nothing.
    await writeFile(
      path.join(repo, '.changeset', 'fx.md'),
      '---\n@runbooks/fx: minor\n---\n\nfx also shows the disks.\n',
    );
    expect(await versionFindings()).toHaveLength(1);
    await writeFile(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: '@runbooks/fx', version: '1.1.0', private: true }),
    );
    expect(await versionFindings()).toEqual([]);
  });

  it('names the changeset a newcomer wrote for the runbook when it misspells or leaves unquoted its name', async () => {
    await writeFile(path.join(dir, 'runbook.yaml'), yaml('uptime; df -h'));
    await mkdir(path.join(repo, '.changeset'));
    await writeFile(
      path.join(repo, '.changeset', 'tweak.md'),
      '---\n"@runbooks/fxx": patch\n---\n\nfx also shows the disks.\n',
    );
    const [typo] = await versionFindings();
    expect(typo?.message).toMatch(
      /no changeset in \.changeset\/ names @runbooks\/fx: \.changeset\/tweak\.md names @runbooks\/fxx: if it is meant for this runbook, correct the name there to "@runbooks\/fx"$/,
    );
    await writeFile(
      path.join(repo, '.changeset', 'tweak.md'),
      '---\n@runbooks/fx: patch\n---\n\nfx also shows the disks.\n',
    );
    const [unquoted] = await versionFindings();
    expect(unquoted?.message).toMatch(
      /no changeset in \.changeset\/ names @runbooks\/fx: \.changeset\/tweak\.md has @runbooks\/fx unquoted, which YAML and changesets cannot read \(a key cannot start with @\): write it in quotes, "@runbooks\/fx": patch$/,
    );
  });

  it("refuses a lowered version, or one equal to REV's but for build metadata, naming both versions", async () => {
    const setVersion = (version: string) =>
      writeFile(
        path.join(dir, 'package.json'),
        JSON.stringify({ name: '@runbooks/fx', version, private: true }),
      );
    await writeFile(path.join(dir, 'runbook.yaml'), yaml('uptime; df -h'));
    await setVersion('0.9.0');
    const [lowered, ...more] = await versionFindings();
    expect(more).toEqual([]);
    expect(lowered?.message).toBe(
      "fx changed since HEAD (package.json, runbook.yaml), but its version 0.9.0 is lower than 1.0.0 at HEAD: a runbook's version only goes up (approvals and composing runbooks name it by version); set it back to 1.0.0 and run pnpm changeset, picking @runbooks/fx (or set a version above 1.0.0 in its package.json)",
    );
    // A pending changeset bumps from the lowered version: still below what was released.
    await mkdir(path.join(repo, '.changeset'));
    await writeFile(
      path.join(repo, '.changeset', 'fx.md'),
      '---\n"@runbooks/fx": patch\n---\n\nfx shows the disks.\n',
    );
    expect(await versionFindings()).toHaveLength(1);
    await setVersion('1.0.0+rebuild');
    await writeFile(path.join(repo, '.changeset', 'fx.md'), 'no front matter\n');
    expect((await versionFindings())[0]?.message).toBe(
      'fx changed since HEAD (package.json, runbook.yaml), but its version 1.0.0+rebuild is not greater than 1.0.0 at HEAD and no changeset in .changeset/ names @runbooks/fx: run pnpm changeset and pick @runbooks/fx (or raise the version in its package.json above 1.0.0)',
    );
    await setVersion('1.0.1');
    expect(await versionFindings()).toEqual([]);
  });

  it('calls a runbook that did not exist at REV new, and an unknown REV a usage error', async () => {
    const first = (await git('git', ['-C', repo, 'rev-parse', 'HEAD'])).stdout.trim();
    await writeFile(path.join(repo, 'other.txt'), 'x\n');
    await commit('second');
    // Before the first commit the runbook did not exist: compare with an empty tree's commit.
    await git('git', ['-C', repo, 'tag', 'first', first]);
    expect(await versionFindings('first')).toEqual([]);
    // A runbook the revision does not have is new: it needs a changeset too.
    await git('git', ['-C', repo, 'rm', '-rq', '--cached', 'runbooks/fx']);
    await git('git', [
      ...['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com'],
      ...['commit', '-qm', 'fx out of the repository (still on disk)'],
    ]);
    expect((await versionFindings())[0]?.message).toMatch(
      /^fx is new since HEAD, but its version is still 1\.0\.0 and no changeset/,
    );
    // Never handed to git as one of its options.
    await expect(versionFindings('--output=/tmp/x')).rejects.toThrow(
      '--since "--output=/tmp/x" is not a revision',
    );
    await expect(versionFindings('no-such-branch')).rejects.toThrow(
      /--since no-such-branch is not a commit of .*: give a branch, tag or commit/,
    );
  });
});
