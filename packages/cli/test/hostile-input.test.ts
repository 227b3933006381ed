import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validPackageJson, validYaml, withLine } from '../../schema/test/invalid-runbooks.js';
import { runCli, stackTrace } from './run-cli.js';

/*
 * Files made to break the loader rather than to mean anything: encodings, control characters and
 * nesting deep enough to overflow a recursive parser. The per-rule cases of runbook.yaml and
 * package.json run through the binary in cli.test.ts (the shared bad-input corpus); these are the
 * other files a command reads, and `show`, which prints what it loaded.
 */

let tmp: { dir: string; remove: () => Promise<void> };
beforeAll(async () => {
  tmp = await makeTempDir();
});
afterAll(() => tmp.remove());

/** A repository with opsbook.yaml and one runbook `demo`; returns its folder. */
async function repository(
  name: string,
  files: { config?: string | Uint8Array; yaml?: string } = {},
): Promise<string> {
  const root = path.join(tmp.dir, name);
  await mkdir(path.join(root, 'runbooks', 'demo'), { recursive: true });
  await writeFile(
    path.join(root, 'opsbook.yaml'),
    files.config ?? 'apiVersion: opsbook/v1\nkind: Config\nrunbooks: runbooks\n',
  );
  await writeFile(path.join(root, 'runbooks', 'demo', 'package.json'), validPackageJson);
  await writeFile(path.join(root, 'runbooks', 'demo', 'runbook.yaml'), files.yaml ?? validYaml);
  return root;
}

describe('hostile input to the opsbook binary', () => {
  it('refuses a ticket bugs --label holding a control character (exit 2), naming it, never echoing it', async () => {
    const cwd = await repository('bugs-label');
    const r = await runCli(['ticket', 'bugs', 'disk full', '--label', 'bug\u001b[2J'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      '--label is one Jira label, which cannot hold spaces or control characters; it holds U+001B (ESC)',
    );
    expect(r.stdout + r.stderr).not.toContain('\u001b');
    expect(r.stdout + r.stderr).not.toMatch(stackTrace);
  });

  it('refuses a UTF-16 opsbook.yaml at 1:1, saying to save it as UTF-8', async () => {
    const text = 'apiVersion: opsbook/v1\nkind: Config\n';
    const cwd = await repository('utf16-config', {
      config: new Uint8Array([0xff, 0xfe, ...Buffer.from(text, 'utf16le')]),
    });
    const r = await runCli(['validate'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'opsbook.yaml:1:1: the file is UTF-16 text (it starts with a UTF-16 byte order mark): save it as UTF-8\n',
    );
    expect(r.stdout + r.stderr).not.toMatch(stackTrace);
  });

  it('refuses an opsbook.yaml nested 100,000 deep where depth 65 starts, without a stack overflow', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const cwd = await repository('deep-config', {
      config: `apiVersion: opsbook/v1\nkind: Config\nrunbooks: ${deep}\n`,
    });
    const r = await runCli(['validate'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'opsbook.yaml:3:74: nesting is deeper than 64 levels: flatten the structure\n',
    );
    expect(r.stdout + r.stderr).not.toMatch(/Maximum call stack/);
    expect(r.stdout + r.stderr).not.toMatch(stackTrace);
  });

  it('refuses a non-UTF-8 opsbook.yaml at its first bad byte', async () => {
    const cwd = await repository('latin1-config', {
      config: new Uint8Array([
        ...Buffer.from('apiVersion: opsbook/v1\nkind: Config\n# caf'),
        0xe9,
        0x0a,
      ]),
    });
    const r = await runCli(['validate'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'opsbook.yaml:3:6: byte 0xE9 is not valid UTF-8 (Latin-1 or Windows-1252 text?): save the file as UTF-8\n',
    );
  });

  it('does not show a runbook whose step name holds a terminal escape, and prints no control character', async () => {
    const cwd = await repository('escape-show', {
      yaml: withLine(13, '      name: "One\\e]0;owned\\a\\e[2J"'),
    });
    const r = await runCli(['show', 'demo'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain(
      "runbooks/demo/runbook.yaml:13:17: spec.steps[0].name holds control character U+001B (ESC), written as '\\e'",
    );
    expect(r.stdout + r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(r.stdout + r.stderr).not.toMatch(stackTrace);
  });
});
