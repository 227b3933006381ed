import { createHash } from 'node:crypto';
import {
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  readlink,
  symlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';

/** Names that are not valid UTF-8 (Latin-1 bytes), as Linux allows. */
export const latin1Name = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74, 0x78, 0x74]); // "café.txt" in Latin-1

/**
 * A tree with the awkward parts of real file systems: symlinks (to a file, to a folder, dangling),
 * a sparse file with data past a 512 MiB hole, a large random file, a non-UTF-8 file and folder
 * name, an empty folder, and a file with spaces and shell metacharacters in its name.
 */
export async function makeAwkwardTree(root: string, largeBytes = 24 * 1024 * 1024): Promise<void> {
  await mkdir(path.join(root, 'etc', 'app'), { recursive: true });
  await mkdir(path.join(root, 'empty'), { recursive: true });
  await writeFile(path.join(root, 'etc', 'app', 'config.yaml'), 'port: 8080\n');
  await writeFile(path.join(root, 'etc', 'app', `it's $(touch pwned) & "quoted".txt`), 'x');
  await symlink('app/config.yaml', path.join(root, 'etc', 'config-link'));
  await symlink('app', path.join(root, 'etc', 'dir-link'));
  await symlink('/nonexistent/target', path.join(root, 'etc', 'dangling'));
  const dirName = Buffer.concat([Buffer.from(path.join(root, 'latin1-')), Buffer.from([0xe9])]);
  await mkdir(dirName);
  await writeFile(Buffer.concat([dirName, Buffer.from('/'), latin1Name]), 'latin-1 name\n');
  const sparse = await open(path.join(root, 'sparse.img'), 'w');
  await sparse.write(Buffer.from('start'), 0, 5, 0);
  await sparse.write(Buffer.from('end of sparse file'), 0, 18, 512 * 1024 * 1024);
  await sparse.close();
  const large = await open(path.join(root, 'large.bin'), 'w');
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < largeBytes / block.length; i++) {
    for (let j = 0; j < block.length; j += 4)
      block.writeUInt32LE((i * 2654435761 + j * 40503) >>> 0, j);
    await large.write(block);
  }
  await large.close();
}

/** type, mode, size and content digest of every entry, keyed by its path bytes (hex). */
export async function snapshotTree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: Buffer, rel: Buffer): Promise<void> => {
    for (const name of await readdir(dir, { encoding: 'buffer' })) {
      const full = Buffer.concat([dir, Buffer.from('/'), name]);
      const relPath = Buffer.concat([rel, Buffer.from('/'), name]);
      const info = await lstat(full);
      const key = relPath.toString('hex');
      if (info.isSymbolicLink())
        out[key] = `link ${(await readlink(full, { encoding: 'buffer' })).toString('hex')}`;
      else if (info.isDirectory()) {
        out[key] = `dir ${(info.mode & 0o7777).toString(8)}`;
        await walk(full, relPath);
      } else {
        const digest = createHash('sha256')
          .update(await readFile(full))
          .digest('hex');
        out[key] = `file ${(info.mode & 0o7777).toString(8)} ${info.size} ${digest}`;
      }
    }
  };
  await walk(Buffer.from(root), Buffer.alloc(0));
  return out;
}
