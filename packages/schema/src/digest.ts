import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from './errors.js';
import { nodeCrypto } from './lazy-crypto.js';

/**
 * Files that document a runbook without changing what it does, so editing them needs no new
 * approval.
 */
const EXCLUDED = new Set(['CHANGELOG.md', 'README.md']);
const FORMAT = 'opsbook-runbook-digest/v1';

export interface DigestedFile {
  /** Path relative to the runbook folder, '/'-separated. */
  path: string;
  sha256: string;
  size: number;
}

export interface BundleDigest {
  digest: string;
  files: DigestedFile[];
}

/**
 * The digest of a runbook bundle: `sha256:` over a canonical, byte-sorted list of
 * (relative path, sha256 of bytes) for every file of the folder except CHANGELOG.md and
 * README.md at its top, plus the package name and version. Independent of the checkout's
 * location, file times, modes and directory order; any edited byte, added, removed or renamed
 * file, or version change gives a new digest.
 */
export async function digestRunbook(
  dir: string,
  id: { packageName: string; version: string },
): Promise<BundleDigest> {
  const files: DigestedFile[] = (await readBundleFiles(dir)).map((file) => ({
    path: file.path,
    sha256: nodeCrypto().createHash('sha256').update(file.bytes).digest('hex'),
    size: file.bytes.length,
  }));
  files.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  return { digest: digestOfList(id, files), files };
}

/**
 * The files of a runbook bundle that its digest covers, read, in folder order: what
 * `digestRunbook` hashes, with the same refusals (a symlink, a name that is not UTF-8, a file that
 * cannot be read). Alone, for a check that wants those refusals without the hashing (and
 * node:crypto): validate of a runbook that composes this one. Read synchronously, as loadRunbook
 * reads: a few small local files, and no fs/promises for a command that needs nothing else of it.
 */
export async function readBundleFiles(
  dir: string,
): Promise<Array<{ path: string; bytes: Buffer }>> {
  const files: Array<{ path: string; bytes: Buffer }> = [];
  for (const rel of listFiles(dir, '')) {
    if (EXCLUDED.has(rel)) continue;
    files.push({ path: rel, bytes: readFileSync(path.join(dir, ...rel.split('/'))) });
  }
  return files;
}

export function digestOfList(
  id: { packageName: string; version: string },
  files: readonly Pick<DigestedFile, 'path' | 'sha256'>[],
): string {
  // JSON makes the canonical form unambiguous whatever characters a path holds.
  const canonical = JSON.stringify({
    format: FORMAT,
    package: id.packageName,
    version: id.version,
    files: files.map((f) => [f.path, f.sha256]),
  });
  return `sha256:${nodeCrypto().createHash('sha256').update(canonical).digest('hex')}`;
}

function listFiles(root: string, rel: string): string[] {
  const abs = rel ? path.join(root, ...rel.split('/')) : root;
  const names = readdirSync(abs, { encoding: 'buffer' });
  const out: string[] = [];
  for (const raw of names) {
    const name = raw.toString('utf8');
    const child = rel ? `${rel}/${name}` : name;
    if (!Buffer.from(name, 'utf8').equals(raw)) {
      throw ValidationError.single(
        path.join(abs, name),
        'file name is not valid UTF-8: rename it so that the digest is the same on every machine',
        'bad-file-name',
      );
    }
    const st = lstatSync(path.join(abs, name));
    if (st.isSymbolicLink()) {
      throw ValidationError.single(
        path.join(abs, name),
        `runbook folder contains a symlink (${child}): a runbook must hold real files only; replace it with the file`,
        'symlink-in-bundle',
      );
    }
    if (st.isDirectory()) out.push(...listFiles(root, child));
    else if (st.isFile()) out.push(child);
  }
  return out;
}
