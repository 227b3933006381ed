// fs/promises through `promises`, on first use: a module that imports it loads Node's promise file
// system (and its readline modules) at start-up, which validate, in the same bundle, never uses.
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';

/** The bytes and where the file read really is, or why it was not read. */
export type OwnFileRead = { bytes: Buffer; realPath: string } | { refused: string };

/**
 * Reads a file that opsbook itself wrote into the state dir, and nothing else: a regular file
 * with one link, owned by the user running opsbook, not a symbolic link, whose `tail` (the last
 * folders and its name, e.g. `['outbox', 'ID.bin']`) its real path ends with. The state dir can
 * be the engineer's (`--config`) while a team runner's account reads it; a file there turned into
 * a link to that account's SSH key, a hard link to it, a FIFO, a folder on the way turned into a
 * link to `~/.ssh`, or a path naming a file elsewhere must not have the account read the file and
 * post it to a ticket. The real path is the descriptor's (Linux), so a folder swapped for a link
 * between the check and the read is seen. A missing or unreadable file throws as `readFile`
 * does; a refused one says why.
 */
export async function readOwnFile(file: string, tail: readonly string[]): Promise<OwnFileRead> {
  const resolved = path.resolve(file);
  // O_NOFOLLOW refuses a link at the end; O_NONBLOCK opens a FIFO at once (refused below).
  const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  const handle = await fs.open(resolved, flags).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ELOOP') return undefined;
    throw e;
  });
  if (!handle) return { refused: 'it is a symbolic link' };
  try {
    const info = await handle.stat();
    const uid = process.getuid?.();
    if (!info.isFile()) return { refused: 'it is not a regular file' };
    if (uid !== undefined && info.uid !== uid)
      return {
        refused: `it is owned by uid ${info.uid}, not by the user running opsbook (${uid})`,
      };
    if (info.nlink !== 1) return { refused: `it has ${info.nlink} hard links` };
    const real = await fs.readlink(`/proc/self/fd/${handle.fd}`).catch(() => fs.realpath(resolved));
    const parts = real.split(path.sep);
    if (parts.slice(-tail.length).join('/') !== tail.join('/'))
      return {
        refused: `it is really ${real}, not a file of a ${tail.slice(0, -1).join('/')} folder`,
      };
    return { bytes: await handle.readFile(), realPath: real };
  } finally {
    await handle.close();
  }
}
