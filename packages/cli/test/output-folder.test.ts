import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bareWorkspace } from './bare-workspace.js';
import { runCli, stackTrace } from './run-cli.js';

/*
 * An output path of catalog or report that is a folder: the error names the user's path (never
 * the temp file written beside it) and says it is a folder, and the files already there are left
 * as they were: catalog writes index.html and catalog.md both or neither.
 */

let ws: Awaited<ReturnType<typeof bareWorkspace>>;

beforeAll(async () => {
  ws = await bareWorkspace('opsbook-output-folder-');
  await mkdir(path.join(ws.dir, 'runbooks'));
});
afterAll(() => ws.remove());

const opsbook = (args: string[]) => runCli(args, { cwd: ws.dir });

function expectFolderNamed(stderr: string, folder: string): void {
  expect(stderr).toContain(`cannot use ${folder}: it is a folder where a file should be`);
  expect(stderr).not.toMatch(/\.tmp\b/);
  expect(stderr).not.toMatch(stackTrace);
}

describe('an output path that is a folder', () => {
  it('catalog names catalog.md and leaves the old index.html as it was', async () => {
    const out = path.join(ws.dir, 'published');
    await mkdir(path.join(out, 'catalog.md'), { recursive: true });
    await writeFile(path.join(out, 'index.html'), 'the page published last week');
    const r = await opsbook(['catalog', '--out', out]);
    expect(r.code).toBe(1);
    expectFolderNamed(r.stderr, path.join(out, 'catalog.md'));
    expect(await readFile(path.join(out, 'index.html'), 'utf8')).toBe(
      'the page published last week',
    );
    expect((await readdir(out)).sort()).toEqual(['catalog.md', 'index.html']);
  });

  it('catalog names index.html and writes no catalog.md', async () => {
    const out = path.join(ws.dir, 'fresh');
    await mkdir(path.join(out, 'index.html'), { recursive: true });
    const r = await opsbook(['catalog', '--out', out]);
    expect(r.code).toBe(1);
    expectFolderNamed(r.stderr, path.join(out, 'index.html'));
    expect(await readdir(out)).toEqual(['index.html']);
  });

  for (const format of ['md', 'html', 'json']) {
    it(`report --format ${format} -o names the folder`, async () => {
      const folder = path.join(ws.dir, `health.${format}`);
      await mkdir(folder);
      const r = await opsbook(['report', '--format', format, '-o', folder]);
      expect(r.code).toBe(1);
      expectFolderNamed(r.stderr, folder);
      expect(await readdir(folder)).toEqual([]);
      expect((await readdir(ws.dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    });
  }
});
