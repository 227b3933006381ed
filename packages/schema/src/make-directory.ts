// fs/promises through `promises`, on first use (as atomic-write.ts).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { StorageError } from './errors.js';

/**
 * `mkdir -p`: makes `dir` and its missing parents (each with `mode`, before the umask), and
 * accepts a folder that is there. Not `fs.mkdir(dir, { recursive: true })`: Node 20's never
 * returns for a folder under /proc or /sys (mkdir answers ENOENT although the parent exists, and
 * Node makes the parent again, forever), so an `-o /proc/x/report.html` hung the command. Here
 * that ENOENT is NOT_CREATED; any other refusal (EACCES, EROFS, ENOTDIR…) is thrown as is.
 */
export async function makeDirectory(dir: string, options: { mode?: number } = {}): Promise<void> {
  const target = path.resolve(dir);
  const mode = options.mode ?? 0o777;
  try {
    await fs.mkdir(target, mode);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return existingFolder(target, e);
    if (code !== 'ENOENT') throw e;
  }
  const parent = path.dirname(target);
  if (parent !== target) await makeDirectory(parent, options);
  try {
    await fs.mkdir(target, mode);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return existingFolder(target, e);
    if (code !== 'ENOENT') throw e;
    throw notCreated(target, 'folder', e);
  }
}

/** EEXIST is fine for a folder (or a link to one); a file there is ENOTDIR's business. */
async function existingFolder(dir: string, error: unknown): Promise<void> {
  const info = await fs.stat(dir).catch(() => undefined);
  if (info?.isDirectory()) return;
  throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), {
    code: 'ENOTDIR',
    path: dir,
    cause: error,
  });
}

/**
 * ENOENT for a file or folder whose parent folder is there: a filesystem such as /proc or /sys
 * that takes no new entries (NOT_CREATED, not an internal error).
 */
export function notCreated(target: string, what: 'file' | 'folder', cause: unknown): StorageError {
  return new StorageError(
    'NOT_CREATED',
    `cannot create the ${what} ${target}: its filesystem takes no new ${what}s there (ENOENT, as /proc and /sys). Choose a place elsewhere.`,
    { errno: 'ENOENT', path: target },
    { cause },
  );
}
