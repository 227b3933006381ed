import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../test/temp-dir.js';
import {
  createFileAtomic,
  createFilesAtomic,
  writeFileAtomic,
  writeFilesAtomic,
} from './atomic-write.js';

describe('atomic writes', () => {
  let dir: string;
  let remove: () => Promise<void>;
  const umask = process.umask();

  beforeEach(async () => {
    ({ dir, remove } = await makeTempDir());
  });
  afterEach(() => remove());

  it('replaces a file whole and leaves no temp file behind', async () => {
    const file = path.join(dir, 'a.json');
    await writeFile(file, 'old');
    await writeFileAtomic(file, 'new');
    expect(await readFile(file, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('writes into a named pipe or device in place (-o /dev/null must not replace /dev/null)', async () => {
    const fifo = path.join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const link = path.join(dir, 'out');
    await symlink(fifo, link);
    const read = readFile(fifo, 'utf8');
    await writeFileAtomic(link, 'through the pipe');
    expect(await read).toBe('through the pipe');
    expect((await stat(fifo)).isFIFO()).toBe(true);
    expect((await stat(link)).isFIFO()).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['out', 'pipe']);
  });

  it('creates the file private unless a mode is given', async () => {
    await writeFileAtomic(path.join(dir, 'private'), 'x');
    await writeFileAtomic(path.join(dir, 'shared'), new Uint8Array([1]), { mode: 0o644 });
    expect((await stat(path.join(dir, 'private'))).mode & 0o777).toBe(0o600 & ~umask);
    expect((await stat(path.join(dir, 'shared'))).mode & 0o777).toBe(0o644 & ~umask);
  });

  it('creates missing parent folders only when asked to', async () => {
    const file = path.join(dir, 'a', 'b', 'c.json');
    await expect(writeFileAtomic(file, 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    await writeFileAtomic(file, 'x', { dirMode: 0o700 });
    expect((await stat(path.join(dir, 'a'))).mode & 0o777).toBe(0o700 & ~umask);
  });

  it('removes its temp file when the rename fails', async () => {
    const target = path.join(dir, 'taken');
    await mkdir(path.join(target, 'inside'), { recursive: true });
    await expect(writeFileAtomic(target, 'x')).rejects.toMatchObject({ code: 'EISDIR' });
    expect(await readdir(dir)).toEqual(['taken']);
  });

  it('names the file, not its temp file, when a folder sits where the file goes', async () => {
    const target = path.join(dir, 'report.html');
    await mkdir(target);
    await expect(writeFileAtomic(target, 'x')).rejects.toMatchObject({
      code: 'EISDIR',
      path: target,
    });
    expect(await readdir(dir)).toEqual(['report.html']);
  });

  it('replaces a set of files only when none of them is a folder, naming the folder', async () => {
    const at = (name: string) => path.join(dir, name);
    await writeFile(at('index.html'), 'old page');
    await mkdir(at('catalog.md'));
    const files = [
      { file: at('index.html'), data: 'new page' },
      { file: at('catalog.md'), data: 'new markdown' },
    ];
    await expect(writeFilesAtomic(files)).rejects.toMatchObject({
      code: 'EISDIR',
      path: at('catalog.md'),
    });
    expect(await readFile(at('index.html'), 'utf8')).toBe('old page');
    expect((await readdir(dir)).sort()).toEqual(['catalog.md', 'index.html']);
  });

  it('replaces none of a set of files when one of them cannot be written, and leaves no temp file', async () => {
    const at = (name: string) => path.join(dir, name);
    await writeFile(at('a'), 'old a');
    const files = [
      { file: at('a'), data: 'new a' },
      { file: path.join(dir, 'missing', 'b'), data: 'new b' },
    ];
    await expect(writeFilesAtomic(files)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(at('a'), 'utf8')).toBe('old a');
    expect(await readdir(dir)).toEqual(['a']);
    await writeFilesAtomic([files[0]!, { file: at('b'), data: 'new b' }], { mode: 0o644 });
    expect(await readFile(at('a'), 'utf8')).toBe('new a');
    expect(await readFile(at('b'), 'utf8')).toBe('new b');
    expect((await readdir(dir)).sort()).toEqual(['a', 'b']);
  });

  it('replaces a symlink rather than writing through it', async () => {
    const victim = path.join(dir, 'victim');
    await writeFile(victim, 'keep');
    await symlink(victim, path.join(dir, 'link'));
    await writeFileAtomic(path.join(dir, 'link'), 'new');
    expect(await readFile(victim, 'utf8')).toBe('keep');
    expect(await readFile(path.join(dir, 'link'), 'utf8')).toBe('new');
  });

  it('creates a file once: the second writer is told it lost, the first bytes stay', async () => {
    const file = path.join(dir, 'claim');
    expect(await createFileAtomic(file, 'first')).toBe(true);
    expect(await createFileAtomic(file, 'second')).toBe(false);
    expect(await readFile(file, 'utf8')).toBe('first');
    expect(await readdir(dir)).toEqual(['claim']);
  });

  it('creates several files in order and stops at the first one taken, leaving no temp file', async () => {
    const at = (name: string) => path.join(dir, name);
    await writeFile(at('3'), 'theirs');
    const files = ['1', '2', '3', '4'].map((n) => ({ file: at(n), data: `mine ${n}` }));
    expect(await createFilesAtomic(files)).toBe(2);
    expect((await readdir(dir)).sort()).toEqual(['1', '2', '3']);
    expect(await readFile(at('2'), 'utf8')).toBe('mine 2');
    expect(await readFile(at('3'), 'utf8')).toBe('theirs');
    expect(await createFilesAtomic([{ file: at('4'), data: 'mine 4' }])).toBe(1);
    expect(await createFilesAtomic([])).toBe(0);
  });

  it('publishes none of the files when one of them cannot be written', async () => {
    const files = [
      { file: path.join(dir, 'a'), data: 'x' },
      { file: path.join(dir, 'missing', 'b'), data: 'y' },
    ];
    await expect(createFilesAtomic(files)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(dir)).toEqual([]);
  });
});
