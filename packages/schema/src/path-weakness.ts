// fs/promises through `promises`, on first use (as read-own-file.ts): not at start-up.
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** Where someone outside the trusted owners could change a file: its owner, or its write bits. */
export type PathWeakness = { at: string; owner: number } | { at: string; mode: number };

/**
 * The first of `real` (a real path: no links in it) and the folders above it that someone other
 * than `owners` could change, or undefined when none: each must belong to one of `owners` and be
 * writable by no group or other user. A sticky folder of root's (/tmp) is allowed above `real`,
 * since others cannot rename what is not theirs in it. OpenSSH's StrictModes rule (`safe_path`),
 * used for the trust pin (root only) and for known_hosts (its user or root). What does not exist
 * yet is skipped: the first folder that does is judged, as where it would be made.
 */
export async function pathWeakness(
  real: string,
  owners: readonly number[],
): Promise<PathWeakness | undefined> {
  for (let at = real; ; ) {
    const st = await fs.lstat(at).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (st) {
      if (!owners.includes(st.uid)) return { at, owner: st.uid };
      const stickyRootAbove =
        at !== real && st.isDirectory() && st.uid === 0 && (st.mode & 0o1000) !== 0;
      if ((st.mode & 0o022) !== 0 && !stickyRootAbove) return { at, mode: st.mode & 0o7777 };
    }
    const up = path.dirname(at);
    if (up === at) return undefined;
    at = up;
  }
}
