import { execFile } from 'node:child_process';
import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOwnFile } from './read-own-file.js';

let dir = '';
let reports = '';
let secret = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-own-file-'));
  reports = path.join(dir, 'state', 'reports', 'run-1');
  await mkdir(reports, { recursive: true });
  secret = path.join(dir, 'id_ed25519');
  await writeFile(secret, 'key material');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tail = (name: string) => ['reports', 'run-1', name];

describe('readOwnFile', () => {
  it('reads a regular file of its own in the folder its tail names', async () => {
    await writeFile(path.join(reports, 'a.md'), '# ok');
    const read = await readOwnFile(path.join(reports, 'a.md'), tail('a.md'));
    expect(read).toMatchObject({ realPath: path.join(reports, 'a.md') });
    expect('bytes' in read && read.bytes.toString()).toBe('# ok');
  });

  it('refuses a symbolic link, a hard link, a FIFO, and a file outside the named folder', async () => {
    await symlink(secret, path.join(reports, 'sym.md'));
    const other = path.join(dir, 'other-key');
    await writeFile(other, 'other key material');
    await link(other, path.join(reports, 'hard.md'));
    await promisify(execFile)('mkfifo', [path.join(reports, 'fifo.md')]);
    const refused = async (file: string, t: string[]) => {
      const read = await readOwnFile(file, t);
      return 'refused' in read ? read.refused : 'read';
    };
    expect(await refused(path.join(reports, 'sym.md'), tail('sym.md'))).toBe(
      'it is a symbolic link',
    );
    expect(await refused(path.join(reports, 'hard.md'), tail('hard.md'))).toBe(
      'it has 2 hard links',
    );
    expect(await refused(path.join(reports, 'fifo.md'), tail('fifo.md'))).toBe(
      'it is not a regular file',
    );
    expect(await refused(secret, tail('id_ed25519'))).toContain(`it is really ${secret}`);
  });

  it('refuses a file reached through a folder that is a link elsewhere', async () => {
    await symlink(dir, path.join(dir, 'state', 'reports', 'run-2'));
    const read = await readOwnFile(path.join(dir, 'state', 'reports', 'run-2', 'id_ed25519'), [
      'reports',
      'run-2',
      'id_ed25519',
    ]);
    expect(read).toEqual({
      refused: `it is really ${secret}, not a file of a reports/run-2 folder`,
    });
  });
});
