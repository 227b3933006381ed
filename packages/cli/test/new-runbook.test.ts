import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './run-cli.js';

const script = path.join(repoRoot, 'scripts', 'new-runbook.mjs');
const run = (args: string[]) =>
  promisify(execFile)(process.execPath, [script, ...args]).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );

let tmp: { dir: string; remove: () => Promise<void> };
beforeAll(async () => {
  tmp = await makeTempDir();
  await mkdir(path.join(tmp.dir, 'runbooks'));
});
afterAll(() => tmp.remove());

describe('scripts/new-runbook.mjs', () => {
  it('scaffolds a runbook that validates, with a changeset for its first version', async () => {
    const r = await run([
      'rotate-certs',
      '--category',
      'change',
      '--title',
      'Rotate TLS certificates',
      '--root',
      tmp.dir,
    ]);
    expect(r.stdout).toContain('✓ 1 runbook valid');
    expect(r.code).toBe(0);
    // It validates, but its change step is a placeholder: lint fails until it is written, and the
    // scaffold says so.
    expect(r.stdout).toMatch(
      /opsbook lint fails on it \(scaffold-todo\) until you replace the step 'TODO the change itself'/,
    );
    const lint = await runCli(['lint', 'rotate-certs'], { cwd: tmp.dir });
    expect(lint.code).toBe(1);
    expect(lint.stdout).toMatch(
      /runbooks\/rotate-certs\/runbook\.yaml:\d+:\d+: error scaffold-todo: step 'do-the-work' is still the scaffold's placeholder/,
    );
    const changeset = await readFile(
      path.join(tmp.dir, '.changeset', 'new-runbook-rotate-certs.md'),
      'utf8',
    );
    expect(changeset).toContain('"@runbooks/rotate-certs": minor');
    const shown = await runCli(['show', 'rotate-certs', '--json'], { cwd: tmp.dir });
    const doc = JSON.parse(shown.stdout) as {
      runbook: { metadata: { category: string; title: string } };
    };
    expect(doc.runbook.metadata).toMatchObject({
      category: 'change',
      title: 'Rotate TLS certificates',
    });
  });

  it('refuses a name that exists, an invalid name, and an unknown option', async () => {
    expect((await run(['rotate-certs', '--root', tmp.dir])).stdout).toMatch(/already exists/);
    const bad = await run(['Rotate_Certs', '--root', tmp.dir]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toMatch(/is not a valid runbook name/);
    const opt = await run(['x', '--colour', 'red', '--root', tmp.dir]);
    expect(opt.code).toBe(2);
    expect(opt.stdout).toMatch(/unknown option --colour/);
  });
});
