import { type Dirent, readdirSync } from 'node:fs';
import path from 'node:path';

/** Why a runbook folder is not a bundle a digest can cover. */
export interface BundleRefusal {
  /** Absolute path of the entry. */
  file: string;
  /** Its path from the runbook folder, '/'-separated. */
  rel: string;
  rule: string;
  message: string;
  /** The error code of a folder that could not be listed. */
  code?: string;
}

/**
 * The files of a runbook folder ('/'-separated paths from it, in folder order), and what makes
 * the folder no bundle: every entry, hidden ones and those of nested folders included, must be a
 * real file or folder (not a symlink) with a UTF-8 name. The one rule for the digest (which hashes
 * the files) and loadRunbook (so that what validate passes, a digest and a plan accept). One
 * synchronous readdir per folder, the entries' types from it (node lstats only where the file
 * system does not say): cheap enough for validate.
 */
export function walkBundle(root: string): { files: string[]; refusals: BundleRefusal[] } {
  const files: string[] = [];
  const refusals: BundleRefusal[] = [];
  walk(root, '', files, refusals);
  return { files, refusals };
}

function walk(root: string, rel: string, files: string[], refusals: BundleRefusal[]): void {
  const abs = rel ? path.join(root, ...rel.split('/')) : root;
  let entries: Dirent[];
  try {
    // Names as text: a name that is not UTF-8 decodes with U+FFFD, and only then is the folder
    // listed again as bytes to tell (a real U+FFFD in a name is valid UTF-8). Bytes for every
    // folder made validate of 200 runbooks ~10 ms slower.
    entries = readdirSync(abs, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    refusals.push({
      file: abs,
      rel,
      rule: 'unreadable-folder',
      code,
      message: `cannot list ${rel ? `the folder ${rel} of the runbook` : 'the runbook folder'} (${code}): give the user running opsbook read access to it`,
    });
    return;
  }
  const notUtf8 = entries.some((e) => e.name.includes('\ufffd')) ? namesNotUtf8(abs) : undefined;
  for (const entry of entries) {
    const name = entry.name;
    const child = rel ? `${rel}/${name}` : name;
    if (notUtf8?.has(name)) {
      refusals.push({
        file: path.join(abs, name),
        rel: child,
        rule: 'bad-file-name',
        message:
          'file name is not valid UTF-8: rename it so that the digest is the same on every machine',
      });
      continue;
    }
    if (entry.isSymbolicLink()) {
      refusals.push({
        file: path.join(abs, name),
        rel: child,
        rule: 'symlink-in-bundle',
        message: `runbook folder contains a symlink (${child}): a runbook must hold real files only; replace it with the file`,
      });
    } else if (entry.isDirectory()) walk(root, child, files, refusals);
    else if (entry.isFile()) files.push(child);
  }
}

/** The names of `dir`'s entries that are not UTF-8, as they read decoded (with U+FFFD). */
function namesNotUtf8(dir: string): Set<string> {
  const out = new Set<string>();
  for (const raw of readdirSync(dir, { encoding: 'buffer' })) {
    const name = raw.toString('utf8');
    if (!Buffer.from(name, 'utf8').equals(raw)) out.add(name);
  }
  return out;
}
