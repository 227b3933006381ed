import { chmod, cp, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bareWorkspace } from './bare-workspace.js';
import { repoRoot, runCli, stackTrace } from './run-cli.js';

/*
 * What validate (the CI gate) passes must plan: a runbook folder holding a symlink, which the
 * digest (show, digest, plan) refuses, fails validate and lint there too, at the symlink, and the
 * catalog names it and writes the rest. And lint does not wait forever on a ShellCheck that hangs.
 */

let temp: { dir: string; remove: () => Promise<void> };
const runbooks = () => path.join(temp.dir, 'runbooks');
const notes = () => path.join(runbooks(), 'disk-cleanup', 'notes.txt');
const refusal =
  'runbooks/disk-cleanup/notes.txt: runbook folder contains a symlink (notes.txt): a runbook must hold real files only; replace it with the file';

beforeAll(async () => {
  temp = await bareWorkspace('opsbook-folder-');
  for (const name of ['disk-cleanup', 'service-restart'])
    await cp(path.join(repoRoot, 'runbooks', name), path.join(runbooks(), name), {
      recursive: true,
    });
});
afterAll(() => temp.remove());

describe('a symlink in a runbook folder', () => {
  it('fails validate and lint at the symlink, as show and digest refuse it; the catalog writes the rest, names it with its problem and exits 2', async () => {
    const cwd = temp.dir;
    expect((await runCli(['validate'], { cwd })).code).toBe(0);
    await symlink('/etc/hostname', notes());
    try {
      const validate = await runCli(['validate'], { cwd });
      expect(validate.stdout).toBe(`${refusal}\n✗ 1 problem in 1 of 2 runbooks\n`);
      expect(validate.code).toBe(2);
      const json = JSON.parse(
        (await runCli(['validate', '--json', 'disk-cleanup'], { cwd })).stdout,
      );
      expect(json.runbooks[0].problems[0]).toMatchObject({
        file: 'runbooks/disk-cleanup/notes.txt',
        rule: 'symlink-in-bundle',
      });
      const digest = await runCli(['digest', 'disk-cleanup'], { cwd });
      expect(digest.code).toBe(2);
      expect(digest.stderr).toContain('runbook folder contains a symlink (notes.txt)');
      const lint = await runCli(['lint'], { cwd });
      expect(lint.code).toBe(2);
      expect(lint.stdout + lint.stderr).toContain(refusal);
      // Published from CI, a catalog that silently lacks a runbook must not pass: it is written
      // (the rest is still worth reading), the runbook's problem is shown where it is, exit 2.
      const catalog = await runCli(['catalog', '--out', 'site'], { cwd });
      expect(catalog.code).toBe(2);
      expect(catalog.stderr).toContain(
        `disk-cleanup does not load and is left out of the catalog:\n  ${refusal}\n`,
      );
      expect(catalog.stdout).toContain('1 runbook, 0 runs');
      expect(catalog.stderr).toContain(
        '✗ 1 runbook did not load and is not in the catalog: fix it (opsbook validate) and write the catalog again',
      );
      expect(await readFile(path.join(cwd, 'site', 'catalog.md'), 'utf8')).toContain(
        'service-restart',
      );
      expect((await stat(path.join(cwd, 'site', 'index.html'))).size).toBeGreaterThan(0);
      for (const r of [validate, digest, lint, catalog])
        expect(r.stdout + r.stderr).not.toMatch(stackTrace);
    } finally {
      await rm(notes());
    }
  });
});

describe('opsbook lint with a ShellCheck that never finishes', () => {
  it('stops it after OPSBOOK_SHELLCHECK_TIMEOUT and fails, naming ShellCheck and the files', async () => {
    const bin = path.join(temp.dir, 'bin');
    const pidFile = path.join(temp.dir, 'shellcheck.pid');
    await mkdir(bin);
    await writeFile(
      path.join(bin, 'shellcheck'),
      `#!/bin/sh
if [ "$1" = --version ]; then printf 'ShellCheck\\nversion: 0.9.0\\n'; exit 0; fi
echo $$ > '${pidFile}'
exec sleep 300
`,
    );
    await chmod(path.join(bin, 'shellcheck'), 0o755);
    const env = { PATH: `${bin}:${process.env.PATH}`, OPSBOOK_SHELLCHECK_TIMEOUT: '1' };
    const r = await runCli(['lint'], { cwd: temp.dir, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /ShellCheck \(shellcheck\) did not check \d+ files \(runbooks\/disk-cleanup\/.*within 1 s and was stopped/,
    );
    expect(r.stdout + r.stderr).not.toMatch(stackTrace);
    // The ShellCheck it started is gone (a zombie nobody reaped aside).
    const pid = (await readFile(pidFile, 'utf8')).trim();
    const state = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    expect(state === '' || /^\d+ \(.*\) Z/.test(state)).toBe(true);
    const bad = await runCli(['lint'], {
      cwd: temp.dir,
      env: { ...env, OPSBOOK_SHELLCHECK_TIMEOUT: 'soon' },
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("OPSBOOK_SHELLCHECK_TIMEOUT is 'soon'");
  }, 30_000);
});

describe('a runbook folder or file named with a line break', () => {
  // A newline, a CR and a line separator, each followed by what a fake line of ours would say.
  const folder = 'notes\n✓ 9 runbooks valid\rx\u2028y';
  const shown = 'notes\\x0a✓ 9 runbooks valid\\x0dx\\u2028y';
  const script = 'extra\nsha256:0000  run.sh';

  let ws: { dir: string; remove: () => Promise<void> };
  beforeAll(async () => {
    ws = await bareWorkspace('opsbook-folder-names-');
    const rb = path.join(ws.dir, 'runbooks');
    await cp(path.join(repoRoot, 'runbooks', 'disk-cleanup'), path.join(rb, 'disk-cleanup'), {
      recursive: true,
    });
    await writeFile(path.join(rb, 'disk-cleanup', 'scripts', script), 'echo extra\n');
    // No package.json: the folder does not load, and every view names it.
    await mkdir(path.join(rb, folder));
    await writeFile(path.join(rb, folder, 'runbook.yaml'), 'apiVersion: opsbook/v1\n');
  });
  afterAll(() => ws.remove());

  /** Each line the command printed: none may start with the text after a line break. */
  function expectKeptOnItsLine(r: { stdout: string; stderr: string }, expected: string): void {
    const lines = `${r.stdout}\n${r.stderr}`.split(/[\n\r\u2028]/);
    expect(lines.filter((l) => /^(✓ 9|x|y|sha256:0000)/.test(l))).toEqual([]);
    expect(r.stdout + r.stderr).toContain(expected);
    expect(r.stdout + r.stderr).not.toMatch(stackTrace);
  }

  it('shows it escaped in validate, lint, list, catalog, stats, digest and plan, as an escape character is', async () => {
    const cwd = ws.dir;
    const problem = `runbooks/${shown}/package.json: file is missing`;
    const validate = await runCli(['validate'], { cwd });
    expect(validate.code).toBe(2);
    expectKeptOnItsLine(validate, problem);
    const named = await runCli(['validate', `runbooks/${folder}`], { cwd });
    expectKeptOnItsLine(named, problem);
    const lint = await runCli(['lint'], { cwd });
    expectKeptOnItsLine(lint, problem);
    const list = await runCli(['list'], { cwd });
    expect(list.code).toBe(2);
    expectKeptOnItsLine(list, `1 invalid runbook left out: ${shown} (run opsbook validate)`);
    const catalog = await runCli(['catalog', '--out', 'site'], { cwd });
    expect(catalog.code).toBe(2);
    expectKeptOnItsLine(catalog, `${shown} does not load and is left out of the catalog:`);
    const plan = await runCli(['plan', `runbooks/${folder}`, '--ticket', 'OPS-1'], { cwd });
    expect(plan.code).toBe(2);
    expectKeptOnItsLine(plan, problem);
    const unknown = await runCli(['digest', 'no-such-runbook'], { cwd });
    expectKeptOnItsLine(unknown, `known runbooks: disk-cleanup, ${shown}`);
    const stats = await runCli(['stats'], { cwd });
    expectKeptOnItsLine(stats, `- \`${shown}\`: never run`);
    const digest = await runCli(['digest', '--files', 'disk-cleanup'], { cwd });
    expect(digest.code).toBe(0);
    expectKeptOnItsLine(digest, '  scripts/extra\\x0asha256:0000  run.sh');
  });
});
