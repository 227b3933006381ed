import { rename, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withLine, writeCase } from '../test/invalid-runbooks.js';
import { makeTempDir } from '../test/temp-dir.js';
import { digestRunbook } from './digest.js';
import { ValidationError } from './errors.js';
import { findRunbookDirs, loadRunbook } from './load-runbook.js';
import { formatProblem } from './problem.js';

let root: { dir: string; remove: () => Promise<void> };
beforeAll(async () => {
  root = await makeTempDir();
});
afterAll(() => root.remove());

describe('where loadRunbook says a problem is', () => {
  it('names the file from the cwd, however the folder and the cwd are written', async () => {
    const dir = await writeCase(path.join(root.dir, 'runbooks'), {
      name: 'where',
      yaml: withLine(5, '  title: 5'),
      expected: [],
    });
    const [listed] = await findRunbookDirs(path.join(root.dir, 'runbooks'));
    expect(listed).toBe(dir);
    const spellings = [
      dir,
      `${dir}/`,
      `${dir}/.`,
      path.join(dir, '../where'),
      `${path.dirname(dir)}//where`,
      path.relative(root.dir, dir),
    ];
    const cwds = [root.dir, `${root.dir}/`, path.join(root.dir, 'runbooks'), dir, '/', '/tmp/..'];
    for (const cwd of cwds) {
      for (const spelling of spellings) {
        const r = await loadRunbook(spelling, { cwd });
        const shown = path.relative(cwd, path.resolve(cwd, spelling));
        expect(r.ok, `${spelling} from ${cwd}`).toBe(false);
        if (r.ok) continue;
        expect(r.dir).toBe(path.resolve(cwd, spelling));
        expect(r.problems.length).toBeGreaterThan(0);
        for (const p of r.problems) {
          expect(['runbook.yaml', 'package.json']).toContain(path.basename(p.file));
          expect(p.file).toBe(path.join(shown, path.basename(p.file)));
        }
      }
    }
  });

  it('lists the folders of a runbooks folder written with a trailing separator or dots', async () => {
    const runbooks = path.join(root.dir, 'listed');
    const dirs = await Promise.all(
      ['b', 'a'].map((name) => writeCase(runbooks, { name, expected: [] })),
    );
    for (const spelling of [
      runbooks,
      `${runbooks}/`,
      `${runbooks}/./`,
      path.join(runbooks, '../listed'),
    ])
      expect(await findRunbookDirs(spelling), spelling).toEqual([...dirs].reverse());
    expect(await findRunbookDirs(path.relative(process.cwd(), runbooks))).toEqual(
      [...dirs].reverse().map((d) => path.relative(process.cwd(), d)),
    );
  });
});

describe('findRunbookDirs of a folder that is not there', () => {
  const namedAt = { file: 'opsbook.yaml', value: 'runbok', locate: () => ({ line: 3, col: 11 }) };
  const problemOf = async (dir: string, at?: typeof namedAt) => {
    const e = await findRunbookDirs(dir, at).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).problems;
  };

  it('refuses a folder opsbook.yaml names that does not exist, at the runbooks: value', async () => {
    const dir = path.join(root.dir, 'runbok');
    expect(await problemOf(dir, namedAt)).toEqual([
      {
        file: 'opsbook.yaml',
        line: 3,
        col: 11,
        rule: 'missing-file',
        message: `the runbooks folder 'runbok' does not exist (${dir}): correct the path, or create the folder`,
      },
    ]);
  });

  it('refuses a file where the runbooks folder should be, named or not', async () => {
    const file = path.join(root.dir, 'a-file');
    await writeFile(file, '');
    const [named] = await problemOf(file, { ...namedAt, value: 'a-file' });
    expect(named?.message).toBe(
      `the runbooks folder 'a-file' is a file, not a folder (${file}): name the folder that holds the runbooks`,
    );
    const [unnamed] = await problemOf(file);
    expect(unnamed).toMatchObject({ file: path.relative(process.cwd(), file), line: 0 });
  });

  it('names a symbolic link loop where the runbooks folder should be as a loop, not as permissions', async () => {
    const a = path.join(root.dir, 'loop-a');
    await symlink(path.join(root.dir, 'loop-b'), a);
    await symlink(a, path.join(root.dir, 'loop-b'));
    const [named] = await problemOf(a, { ...namedAt, value: 'loop-a' });
    expect(named?.message).toBe(
      `the runbooks folder 'loop-a' is a symbolic link that goes round in a loop (${a}): repair the link (ls -l shows where it points), or name the real folder`,
    );
  });

  it('gives no runbook for the default folder of a new repository, which nobody named', async () => {
    expect(await findRunbookDirs(path.join(root.dir, 'not-made-yet'))).toEqual([]);
  });
});

describe('a runbook folder the digest refuses', () => {
  it('does not load either, with the problem at the entry: a symlinked runbook.yaml, package.json or other file', async () => {
    const runbooks = path.join(root.dir, 'linked');
    for (const linked of ['runbook.yaml', 'package.json', 'notes.txt']) {
      const dir = await writeCase(runbooks, { name: `link-${linked}`, expected: [] });
      const real = path.join(root.dir, `real-${linked}`);
      await rename(path.join(dir, linked), real).catch(() => writeFile(real, 'x\n'));
      await symlink(real, path.join(dir, linked));
      const r = await loadRunbook(dir, { cwd: root.dir });
      expect(r.ok, linked).toBe(false);
      expect(r.problems.map(formatProblem)).toEqual([
        `${path.join('linked', `link-${linked}`, linked)}: runbook folder contains a symlink (${linked}): a runbook must hold real files only; replace it with the file`,
      ]);
      await expect(
        digestRunbook(dir, { packageName: '@runbooks/demo', version: '1.0.0' }),
      ).rejects.toThrow(`runbook folder contains a symlink (${linked})`);
    }
  });

  it('does not load with a file name that is not UTF-8, and loads with one that holds U+FFFD itself', async () => {
    const runbooks = path.join(root.dir, 'names');
    const bad = await writeCase(runbooks, { name: 'bad-name', expected: [] });
    await writeFile(
      Buffer.concat([Buffer.from(`${bad}/notes-`), Buffer.from([0xff]), Buffer.from('.txt')]),
      'x\n',
    );
    const r = await loadRunbook(bad, { cwd: root.dir });
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => p.rule)).toEqual(['bad-file-name']);
    await expect(
      digestRunbook(bad, { packageName: '@runbooks/demo', version: '1.0.0' }),
    ).rejects.toThrow('file name is not valid UTF-8');
    const odd = await writeCase(runbooks, { name: 'odd-name', expected: [] });
    await writeFile(path.join(odd, 'notes-\ufffd.txt'), 'x\n');
    expect((await loadRunbook(odd, { cwd: root.dir })).ok).toBe(true);
  });
});
