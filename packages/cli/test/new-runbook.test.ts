import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './run-cli.js';

const script = path.join(repoRoot, 'scripts', 'new-runbook.mjs');
const changesetBin = path.join(repoRoot, 'node_modules', '.bin', 'changeset');
const WORKSPACE = 'packages:\n  - runbooks/*\n';
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
  // A repository as opsbook's: a pnpm workspace whose runbooks/* are packages, with changesets.
  await writeFile(path.join(tmp.dir, 'pnpm-workspace.yaml'), WORKSPACE);
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
    const again = await run(['rotate-certs', '--root', tmp.dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^error: runbooks\/rotate-certs already exists/);
    const bad = await run(['Rotate_Certs', '--root', tmp.dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/is not a valid runbook name/);
    const opt = await run(['x', '--colour', 'red', '--root', tmp.dir]);
    expect(opt.code).toBe(2);
    expect(opt.stderr).toMatch(/unknown option --colour/);
    // Errors go to stderr, not among the output.
    for (const r of [again, bad, opt]) expect(r.stdout).toBe('');
  });

  it('refuses a name whose changeset exists, and leaves that changeset as it was', async () => {
    const root = await newRoot('changeset-exists');
    const changeset = path.join(root, '.changeset', 'new-runbook-nr-cs.md');
    await mkdir(path.dirname(changeset));
    await writeFile(changeset, 'precious\n');
    const r = await run(['nr-cs', '--root', root]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^error: \.changeset\/new-runbook-nr-cs\.md already exists: a runbook named nr-cs is there or being made; choose another name/,
    );
    expect(r.stdout).toBe('');
    expect(await readFile(changeset, 'utf8')).toBe('precious\n');
    expect(await readdir(path.join(root, 'runbooks'))).toEqual([]);
  });

  it('refuses a --root that is a file or does not exist, in one line and without creating it', async () => {
    const root = await newRoot('bad-root');
    const file = await run(['nr-x', '--root', path.join(root, 'opsbook.yaml')]);
    expect(file.code).toBe(2);
    expect(file.stderr).toBe(
      `error: --root ${path.join(root, 'opsbook.yaml')} is a file, not a folder: give the folder of the repository to create the runbook in (the one holding opsbook.yaml), or leave --root out for this one\n`,
    );
    const missing = path.join(root, 'nope');
    const gone = await run(['nr-x', '--root', missing]);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(
      new RegExp(`^error: --root ${missing} does not exist: give the folder`),
    );
    expect(gone.stderr.trim().split('\n')).toHaveLength(1);
    expect(await exists(missing)).toBe(false);
    const none = await run(['nr-x', '--root']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^error: --root needs a value/);
    expect(await readdir(path.join(root, 'runbooks'))).toEqual([]);
  });

  it('refuses a title the runbook could not hold before writing anything, so a retry succeeds', async () => {
    const root = await newRoot('bad-title');
    const refused: [string[], RegExp][] = [
      [['--title', 'a\nb'], /^error: --title holds a line break: give a title of one line$/m],
      [['--title', 'a\u001bb'], /^error: --title holds control character U\+001B \(ESC\)/],
      [['--title', 'tab\there'], /^error: --title holds a tab/],
      [['--title', '   '], /^error: --title is empty/],
      [['--title', ''], /^error: --title needs a value/],
      [['--title'], /^error: --title needs a value/],
      [['--title', 'x'.repeat(300)], /^error: --title is 300 characters long: give at most 200/],
      [['--title', 'a', '--title', 'b'], /^error: --title is given 2 times/],
    ];
    for (const [args, message] of refused) {
      const r = await run(['nr-nl', '--root', root, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
      expect(await readdir(path.join(root, 'runbooks'))).toEqual([]);
      expect(await exists(path.join(root, '.changeset'))).toBe(false);
    }
    // A title is taken as written: not a number, not true.
    const ok = await run(['nr-nl', '--root', root, '--title', '0123']);
    expect(ok.stdout).toContain('✓ 1 runbook valid');
    expect(ok.code).toBe(0);
    expect(await readFile(path.join(root, 'runbooks', 'nr-nl', 'runbook.yaml'), 'utf8')).toMatch(
      /^ {2}title: "0123"$/m,
    );
  });

  it('writes no changeset where no workspace takes runbooks/* as packages: changeset status keeps working', async () => {
    // A repository whose workspace holds packages/* only: a changeset naming @runbooks/nr-ws
    // would make every `changeset status` and `changeset version` there fail.
    const root = await newRoot('not-a-package', undefined, 'packages:\n  - packages/*\n');
    await mkdir(path.join(root, 'packages', 'a'), { recursive: true });
    await writeFile(path.join(root, 'package.json'), '{"name": "ws", "private": true}\n');
    await writeFile(
      path.join(root, 'packages', 'a', 'package.json'),
      '{"name": "a", "version": "1.0.0"}\n',
    );
    await mkdir(path.join(root, '.changeset'));
    await writeFile(
      path.join(root, '.changeset', 'config.json'),
      await readFile(path.join(repoRoot, '.changeset', 'config.json')),
    );
    const git = (...args: string[]) => promisify(execFile)('git', args, { cwd: root });
    await git('init', '-q', '-b', 'main');
    await git('add', '-A');
    await git('-c', 'user.name=t', '-c', 'user.email=t@t.invalid', 'commit', '-qm', 'init');
    const r = await run(['nr-ws', '--root', root, '--title', 'Not a package']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^created runbooks\/nr-ws; no changeset was written: runbooks\/nr-ws is not a package of the pnpm workspace at \. \(pnpm-workspace\.yaml: packages\/\*\): make runbooks\/nr-ws a package/m,
    );
    expect(await readdir(path.join(root, '.changeset'))).toEqual(['config.json']);
    const status = await promisify(execFile)(changesetBin, ['status'], { cwd: root }).then(
      (s) => ({ code: 0, out: s.stdout + s.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        out: e.stdout + e.stderr,
      }),
    );
    expect(status.out).not.toMatch(/not in the workspace/);
    expect(status.code).toBe(0);
  });

  it('takes back what it wrote when opsbook validate refuses it', async () => {
    // A repository whose opsbook.yaml does not load: validate fails after the files are written.
    const root = await newRoot('validate-fails', 'apiVersion: opsbook/v1\nkind: Conf\n');
    await rm(path.join(root, 'runbooks'), { recursive: true });
    const r = await run(['nr-v', '--root', root, '--title', 'Valid title']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/kind must be 'Config'/);
    expect(r.stderr).toMatch(
      /^error: opsbook validate refused what new-runbook made .*nothing was written/m,
    );
    expect(r.stdout).not.toMatch(/created/);
    // Not even the runbooks/ and .changeset/ folders it made for them.
    expect((await readdir(root)).sort()).toEqual(['opsbook.yaml', 'pnpm-workspace.yaml']);
  });
});

/** A repository of its own under the temp dir: opsbook.yaml and an empty runbooks/. */
async function newRoot(
  name: string,
  config = 'apiVersion: opsbook/v1\nkind: Config\nrunbooks: runbooks\nstateDir: st\n',
  workspace = WORKSPACE,
): Promise<string> {
  const root = path.join(tmp.dir, name);
  await mkdir(path.join(root, 'runbooks'), { recursive: true });
  await writeFile(path.join(root, 'opsbook.yaml'), config);
  await writeFile(path.join(root, 'pnpm-workspace.yaml'), workspace);
  return root;
}

function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
