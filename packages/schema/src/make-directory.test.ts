import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../test/temp-dir.js';
import { writeFileAtomic } from './atomic-write.js';
import { StorageError } from './errors.js';
import { makeDirectory } from './make-directory.js';

describe('makeDirectory', () => {
  let temp: { dir: string; remove: () => Promise<void> };
  beforeAll(async () => {
    temp = await makeTempDir();
  });
  afterAll(() => temp.remove());

  it('makes missing parents with the mode asked, and takes a folder that is there', async () => {
    const deep = path.join(temp.dir, 'a', 'b', 'c');
    await makeDirectory(deep, { mode: 0o700 });
    for (const d of ['a', 'a/b', 'a/b/c'])
      expect((await stat(path.join(temp.dir, d))).mode & 0o777).toBe(0o700);
    await makeDirectory(deep);
    await makeDirectory(`${deep}/`);
  });

  it('refuses a file where a folder should be (ENOTDIR), at any depth', async () => {
    const file = path.join(temp.dir, 'plain');
    await writeFile(file, 'x');
    await expect(makeDirectory(file)).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(makeDirectory(path.join(file, 'below'))).rejects.toMatchObject({
      code: 'ENOTDIR',
    });
  });

  // Node 20's fs.mkdir(dir, { recursive: true }) never settles for these.
  it('answers NOT_CREATED under /proc instead of looping forever', async () => {
    for (const dir of ['/proc/opsbook-test', '/proc/opsbook-test/deeper']) {
      const error = await makeDirectory(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect(error).toMatchObject({ code: 'NOT_CREATED', kind: 'failed' });
      expect((error as Error).message).toBe(
        'cannot create the folder /proc/opsbook-test: its filesystem takes no new folders there (ENOENT, as /proc and /sys). Choose a place elsewhere.',
      );
    }
  });

  it('names a file that cannot be made where the folder is there (/proc)', async () => {
    const error = await writeFileAtomic('/proc/opsbook-test.html', 'x').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NOT_CREATED' });
    expect((error as Error).message).toContain('cannot create the file /proc/opsbook-test.html');
  });
});
