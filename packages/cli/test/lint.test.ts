import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRunbook } from './opsbook-world.js';
import { repoRoot, runCli, stackTrace } from './run-cli.js';
import { logTidy, maintenance } from './runbook-fixtures.js';

/*
 * opsbook lint through the built binary, with the real ShellCheck: the shipped runbooks pass
 * (or carry reasoned suppressions), a deliberately bad repository fails with file:line:col
 * findings in text, JSON and SARIF, and a machine without ShellCheck gets a clear error, never a
 * silent pass.
 */

let temp: { dir: string; remove: () => Promise<void> };
let site: string;

const badRunbook = `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: cleanup
  title: Clean up
  description: Removes old files.
  category: change
  grade: P3
  owners: [ops]
spec:
  params:
    path: {type: string, default: /srv/app, pattern: "^/", description: Folder}
    token: {type: string, secret: true, description: API token}
  steps:
    - id: clean
      name: Remove old files
      run: |
        for f in $(ls {{ params.path }}); do rm -rf $f; done
        curl -fsS -u ops:{{ params.token }} https://x.example/done
      sudo: true
      timeout: 5m
  postchecks:
    - id: gone
      name: Nothing left
      run: test -z "$(ls -A {{ params.path }})"
`;

beforeAll(async () => {
  temp = await makeTempDir('opsbook-lint-cli-');
  site = temp.dir;
  await writeFile(path.join(site, 'opsbook.yaml'), 'apiVersion: opsbook/v1\nkind: Config\n');
  const dir = path.join(site, 'runbooks', 'cleanup');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'runbook.yaml'), badRunbook);
  await writeFile(
    path.join(dir, 'package.json'),
    '{"name": "@runbooks/cleanup", "version": "1.0.0", "private": true}\n',
  );
});

afterAll(() => temp?.remove());

/** line:col of `needle` in the bad runbook. */
function at(needle: string): string {
  const before = badRunbook.slice(0, badRunbook.indexOf(needle)).split('\n');
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}

describe('opsbook lint of the shipped runbooks', () => {
  it('passes every one of them: no error, no warning, only reasoned suppressions', async () => {
    const r = await runCli(['lint', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    const shipped = (await readdir(path.join(repoRoot, 'runbooks'), { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(json.runbooks.map((x: { name: string }) => x.name).sort()).toEqual(shipped);
    expect(json.shellcheck.version).toMatch(/^\d+\.\d+\.\d+/);
    const findings = json.runbooks.flatMap(
      (x: { findings: Array<{ suppressed?: { reason: string } }> }) => x.findings,
    );
    expect(findings.filter((f: { suppressed?: unknown }) => !f.suppressed)).toEqual([]);
    for (const f of findings) expect(f.suppressed.reason.length).toBeGreaterThan(20);
    expect(json.counts).toMatchObject({ error: 0, warning: 0 });
  });

  it('says so in one line of text', async () => {
    const r = await runCli(['lint']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^✓ no errors in \d+ runbooks \(ShellCheck \d+\.\d+\.\d+\): 0 errors, 0 warnings, 0 info/m,
    );
  });
});

describe('opsbook lint of a bad runbook', () => {
  it('exits 1 and prints each finding as file:line:col: severity rule: message', async () => {
    const r = await runCli(['lint'], { cwd: site });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const file = path.join('runbooks', 'cleanup', 'runbook.yaml');
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain(
      `${file}:${at('$(ls')}: error SC2045: Iterating over ls output is fragile. Use globs.`,
    );
    expect(lines.some((l) => l.startsWith(`${file}:${at('$f;')}: info SC2086:`))).toBe(true);
    expect(
      lines.some((l) =>
        l.startsWith(`${file}:${at('{{ params.token }}')}: error secret-in-command:`),
      ),
    ).toBe(true);
    expect(
      lines.some((l) => l.startsWith(`${file}:${at('change')}: warning change-without-rollback:`)),
    ).toBe(true);
    expect(lines.at(-1)).toMatch(/^✗ 2 errors, 1 warning, 1 info in 1 runbook/);
  });

  it('gives one JSON document with --json, the same findings', async () => {
    const r = await runCli(['lint', 'cleanup', '--json'], { cwd: site });
    expect(r.code).toBe(1);
    const json = JSON.parse(r.stdout);
    expect(json.ok).toBe(false);
    expect(json.counts).toEqual({ error: 2, warning: 1, info: 1, suppressed: 0 });
    expect(
      json.runbooks[0].findings.map(
        (f: { rule: string; line: number; col: number }) => `${f.rule}@${f.line}:${f.col}`,
      ),
    ).toEqual([
      `change-without-rollback@${at('change')}`,
      `SC2045@${at('$(ls')}`,
      `SC2086@${at('$f;')}`,
      `secret-in-command@${at('{{ params.token }}')}`,
    ]);
  });

  it('writes SARIF 2.1.0 with paths from the repository root, from any folder', async () => {
    const r = await runCli(['lint', '--format', 'sarif'], { cwd: path.join(site, 'runbooks') });
    expect(r.code).toBe(1);
    const sarif = JSON.parse(r.stdout);
    expect(sarif.version).toBe('2.1.0');
    const results = sarif.runs[0].results;
    expect(results).toHaveLength(4);
    for (const x of results)
      expect(x.locations[0].physicalLocation.artifactLocation).toEqual({
        uri: 'runbooks/cleanup/runbook.yaml',
        uriBaseId: 'SRCROOT',
      });
    expect(sarif.runs[0].originalUriBaseIds.SRCROOT.uri).toBe(`file://${site}/`);
  });

  it('exits 2 and prints the problems of a runbook that does not load', async () => {
    const dir = path.join(site, 'runbooks', 'broken');
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, 'package.json'),
      '{"name": "@runbooks/broken", "version": "1.0.0", "private": true}',
    );
    await writeFile(path.join(dir, 'runbook.yaml'), 'apiVersion: opsbook/v1\nkind: Runbook\n');
    try {
      const r = await runCli(['lint'], { cwd: site });
      expect(r.code).toBe(2);
      expect(r.stdout).toMatch(/runbooks\/broken\/runbook\.yaml:\d+:\d+: /);
      expect(r.stdout).toMatch(/1 runbook did not load/);
    } finally {
      await import('node:fs/promises').then((fs) => fs.rm(dir, { recursive: true }));
    }
  });
});

describe('opsbook lint NAME of a runbook that others compose', () => {
  let lib: { dir: string; remove: () => Promise<void> };
  beforeAll(async () => {
    lib = await makeTempDir('opsbook-lint-composed-');
    await writeFile(path.join(lib.dir, 'opsbook.yaml'), 'apiVersion: opsbook/v1\nkind: Config\n');
    // maintenance composes log-tidy@^1.2.0; log-tidy has just gone to 2.0.0.
    await writeRunbook(path.join(lib.dir, 'runbooks'), 'log-tidy', logTidy('2.0.0'));
    await writeRunbook(path.join(lib.dir, 'runbooks'), 'maintenance', maintenance);
  });
  afterAll(() => lib?.remove());

  const brokenRange =
    /^runbooks\/maintenance\/runbook\.yaml:\d+:\d+: runbook:log-tidy@\^1\.2\.0 matches no version of log-tidy .*2\.0\.0.*$/m;

  it('reports the composite whose range no longer matches, as the full lint does, and exits 2', async () => {
    const all = await runCli(['lint'], { cwd: lib.dir });
    expect(all.code).toBe(2);
    const line = brokenRange.exec(all.stdout)?.[0];
    expect(line).toBeDefined();
    const one = await runCli(['lint', 'log-tidy'], { cwd: lib.dir });
    expect(one.stderr).not.toMatch(stackTrace);
    expect(one.code).toBe(2);
    expect(one.stdout.split('\n')).toContain(line);
    expect(one.stdout).toMatch(/1 runbook did not load/);
    const json = await runCli(['lint', 'log-tidy', '--json'], { cwd: lib.dir });
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).runbooks).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'maintenance', ok: false })]),
    );
  });

  it('says nothing of a composite whose range still matches', async () => {
    await writeRunbook(path.join(lib.dir, 'runbooks'), 'log-tidy', logTidy('1.3.0'));
    const one = await runCli(['lint', 'log-tidy', '--json'], { cwd: lib.dir });
    expect(one.code, one.stdout).not.toBe(2);
    expect(JSON.parse(one.stdout).runbooks.map((r: { name: string }) => r.name)).toEqual([
      'log-tidy',
    ]);
  });
});

describe('opsbook lint without ShellCheck', () => {
  it('fails with SHELLCHECK_MISSING and how to install it, never passing unchecked', async () => {
    for (const env of [
      { PATH: '/nonexistent' },
      { OPSBOOK_SHELLCHECK: '/nonexistent/shellcheck' },
    ]) {
      const r = await runCli(['lint', '--json'], { env });
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout).error.code).toBe('SHELLCHECK_MISSING');
      const text = await runCli(['lint'], { env });
      expect(text.code).toBe(1);
      expect(text.stderr).toMatch(/apt-get install shellcheck/);
      expect(text.stderr).not.toMatch(stackTrace);
    }
  });

  it('refuses --since outside a git repository, or naming no commit, as a usage error', async () => {
    const outside = await runCli(['lint', '--since', 'HEAD'], { cwd: site });
    expect(outside.stderr).not.toMatch(stackTrace);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain('--since needs a git repository');
    const unknown = await runCli(['lint', '--since', 'no-such-branch-of-opsbook']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--since no-such-branch-of-opsbook is not a commit of');
  });

  it('refuses an unknown --format as a usage error', async () => {
    const r = await runCli(['lint', '--format', 'xml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--format "xml" is not one of text, json, sarif/);
  });
});
