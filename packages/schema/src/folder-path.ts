import { lstatSync, type Stats } from 'node:fs';
import path from 'node:path';

/** How a problem of a path names its folder, shows a good path and says where files belong. */
export interface FolderWords {
  /** `the runbook folder` */
  folder: string;
  /** A path that would do, relative to the folder: `scripts/check.sh`. */
  example: string;
  /** What to do instead of leaving the folder: `keep scripts inside the runbook folder`. */
  keep: string;
}

/** Why a path may not name a file of the folder, and what to do (to follow the path's name). */
export interface FolderPathProblem {
  kind: 'absolute' | 'backslash' | 'parent' | 'missing' | 'symlink' | 'not-a-file';
  message: string;
}

/**
 * Why `rel` does not name a regular file inside `root` (undefined when it does): an absolute path,
 * `..`, or a symlink anywhere on the way leaves the folder (what a reviewer approved is the file in
 * it, nothing it points to); a missing file or a folder is said as such. `files`: the regular
 * files of `root` as a walk that descends into no symlink listed them ('/'-separated, bundle-files.ts),
 * when the caller has them: a path among them needs no lstat of each of its segments.
 */
export function folderPathProblem(
  root: string,
  rel: string,
  words: FolderWords,
  files?: ReadonlySet<string>,
): FolderPathProblem | undefined {
  if (path.isAbsolute(rel) || /^[a-zA-Z]:[\\/]/.test(rel))
    return {
      kind: 'absolute',
      message: `is an absolute path: give a path relative to ${words.folder}, e.g. ${words.example}`,
    };
  if (rel.includes('\\'))
    return { kind: 'backslash', message: "uses '\\': separate folders with '/'" };
  const segments = rel.split('/');
  if (segments.includes('..'))
    return { kind: 'parent', message: `leaves ${words.folder} ('..'): ${words.keep}` };
  if (files?.has(segments.filter((seg) => seg !== '' && seg !== '.').join('/'))) return undefined;
  // lstat, not stat: a symlink anywhere on the way is refused. Synchronous: one cheap syscall per
  // segment costs less than a promise round trip through the thread pool (measured in validate).
  let current = root;
  let st: Stats | undefined;
  for (const seg of segments) {
    if (seg === '' || seg === '.') continue;
    current = path.join(current, seg);
    st = lstatSync(current, { throwIfNoEntry: false });
    if (!st)
      return {
        kind: 'missing',
        message: `does not exist in ${words.folder}: add the file or fix the path`,
      };
    if (st.isSymbolicLink())
      return {
        kind: 'symlink',
        message: `is, or is inside, a symlink (${path.relative(root, current)}): replace it with the real file`,
      };
  }
  if (!st?.isFile()) return { kind: 'not-a-file', message: 'is not a regular file' };
  return undefined;
}
