import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withLine, writeCase } from '../test/invalid-runbooks.js';
import { makeTempDir } from '../test/temp-dir.js';
import { findRunbookDirs, loadRunbook } from './load-runbook.js';

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
