// fs/promises through `promises`, on first use: a command that writes nothing does not load it.
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { nodeCrypto } from './lazy-crypto.js';
import { makeDirectory, notCreated } from './make-directory.js';

export interface AtomicWriteOptions {
  /** Permission bits of the new file (before the umask). Private (0o600) unless the caller says. */
  mode?: number;
  /** When set, missing parent folders are created, with these permission bits. */
  dirMode?: number;
}

/**
 * Writes `data` to a fresh temp file beside `file` and fsyncs it: the data is on disk before it
 * is published, so a crash right after the rename or link cannot leave an empty or torn file.
 * `wx` with a random name: never follows a planted symlink, never shares a temp with a concurrent
 * writer.
 */
async function writeTemp(
  file: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions,
): Promise<string> {
  const dir = path.dirname(file);
  if (options.dirMode !== undefined) await makeDirectory(dir, { mode: options.dirMode });
  const temp = path.join(
    dir,
    `.${path.basename(file)}.${nodeCrypto().randomBytes(6).toString('hex')}.tmp`,
  );
  const handle = await fs.open(temp, 'wx', options.mode ?? 0o600).catch(async (e: unknown) => {
    // The folder is there, yet no file can be made in it: /proc, /sys (`-o /proc/x.html`).
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && (await isFolder(dir)))
      throw notCreated(file, 'file', e);
    throw e;
  });
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (e) {
    await handle.close().catch(() => undefined);
    await fs.unlink(temp).catch(() => undefined);
    throw e;
  }
  await handle.close();
  return temp;
}

/**
 * Replaces `file` with `data` so that readers see the old or the new bytes, never a mix. A
 * device, FIFO or socket already at `file` (through links: `-o /dev/null`, `-o /dev/stdout`, a
 * named pipe) is written in place instead: a rename would replace it with a regular file (as
 * root, /dev/null for the whole machine), and a temp file would be left beside it in /dev.
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  if (await isSpecialTarget(file)) return fs.writeFile(file, data);
  const temp = await writeTemp(file, data, options);
  try {
    await fs.rename(temp, file);
  } catch (e) {
    await fs.unlink(temp).catch(() => undefined);
    throw namingTarget(e, file);
  }
}

/** A file to write and its bytes. */
interface FileData {
  file: string;
  data: string | Uint8Array;
}

/**
 * Replaces each of `files` with its data as writeFileAtomic would, but all or none: every
 * target is checked and every temp file written before the first is published, and when a later
 * one fails, the ones already replaced get their old bytes back (or are removed when they were
 * new). A set of outputs that belong together (a page and its Markdown twin) is then never half
 * old, half new. Devices and pipes among them are written in place, after the others.
 */
export async function writeFilesAtomic(
  files: readonly FileData[],
  options: AtomicWriteOptions = {},
): Promise<void> {
  const special: FileData[] = [];
  const regular: FileData[] = [];
  for (const f of files) ((await isSpecialTarget(f.file)) ? special : regular).push(f);
  const written = await Promise.allSettled(regular.map((f) => writeTemp(f.file, f.data, options)));
  const temps = written.flatMap((w) => (w.status === 'fulfilled' ? [w.value] : []));
  const kept: string[] = [];
  const published: { file: string; old: string | undefined }[] = [];
  try {
    const failed = written.find((w) => w.status === 'rejected');
    if (failed) throw failed.reason;
    for (const [i, { file }] of regular.entries()) {
      const old = await keepOld(file);
      if (old) kept.push(old);
      try {
        await fs.rename(temps[i]!, file);
      } catch (e) {
        throw namingTarget(e, file);
      }
      published.push({ file, old });
    }
  } catch (e) {
    for (const p of published.reverse())
      await (p.old ? fs.rename(p.old, p.file) : fs.unlink(p.file)).catch(() => undefined);
    throw e;
  } finally {
    await Promise.all([...temps, ...kept].map((t) => fs.unlink(t).catch(() => undefined)));
  }
  for (const f of special) await fs.writeFile(f.file, f.data);
}

/**
 * A second name for `file`'s current bytes (a hard link, else a copy), to put back if a later
 * file of the set cannot be published; undefined when there is no file yet.
 */
async function keepOld(file: string): Promise<string | undefined> {
  const old = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${nodeCrypto().randomBytes(6).toString('hex')}.old`,
  );
  try {
    await fs.link(file, old);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    await fs.copyFile(file, old, constants.COPYFILE_EXCL);
  }
  return old;
}

/** A failed rename's error naming the file it was to replace, not the temp file renamed. */
function namingTarget(e: unknown, file: string): unknown {
  if (e instanceof Error) {
    const err = e as NodeJS.ErrnoException & { dest?: string };
    err.path = file;
    delete err.dest;
  }
  return e;
}

/**
 * What is at `file` (through links), from one `stat`: true for a device, FIFO or socket (written
 * in place); a folder is refused before anything is written, since the rename would fail with
 * EISDIR naming the temp file, a name the user never gave (the CLI shows the errno's path).
 */
async function isSpecialTarget(file: string): Promise<boolean> {
  const s = await fs.stat(file).catch(() => undefined);
  if (s?.isDirectory())
    throw Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${file}'`), {
      code: 'EISDIR',
      errno: -21,
      syscall: 'open',
      path: file,
    });
  return s !== undefined && !s.isFile();
}

/**
 * Creates `file` with `data` only if it does not exist yet; false when another writer got there
 * first. link(2) fails with EEXIST instead of replacing: a race-free claim.
 */
export async function createFileAtomic(
  file: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<boolean> {
  const temp = await writeTemp(file, data, options);
  try {
    await fs.link(temp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await fs.unlink(temp).catch(() => undefined);
  }
}

/**
 * Creates `files` in order, each only if it does not exist yet, as createFileAtomic would one
 * after the other, but with their data written and fsynced all at once: one wait for the disk
 * instead of one per file. Stops at the first file another writer got first; returns how many
 * were created (the first ones, so what is published is always a prefix of `files`).
 */
export async function createFilesAtomic(
  files: readonly { file: string; data: string | Uint8Array }[],
  options: AtomicWriteOptions = {},
): Promise<number> {
  const written = await Promise.allSettled(files.map((f) => writeTemp(f.file, f.data, options)));
  const temps = written.flatMap((w) => (w.status === 'fulfilled' ? [w.value] : []));
  try {
    const failed = written.find((w) => w.status === 'rejected');
    if (failed) throw failed.reason;
    let created = 0;
    for (const [i, { file }] of files.entries()) {
      try {
        await fs.link(temps[i]!, file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') break;
        throw e;
      }
      created += 1;
    }
    return created;
  } finally {
    await Promise.all(temps.map((t) => fs.unlink(t).catch(() => undefined)));
  }
}

/** fsyncs a folder, so that the names just created or renamed in it survive a crash too. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function isFolder(dir: string): Promise<boolean> {
  return (await fs.stat(dir).catch(() => undefined))?.isDirectory() === true;
}
