import { readFileSync } from 'node:fs';
import path from 'node:path';
import { walkBundle } from './bundle-files.js';
import { ValidationError } from './errors.js';
import { nodeCrypto } from './lazy-crypto.js';

/**
 * Files that document a runbook without changing what it does, so editing them needs no new
 * approval.
 */
const EXCLUDED = new Set(['CHANGELOG.md', 'README.md']);

/** Whether the digest leaves out the file at `rel` (a '/'-separated path in the folder). */
export function isUndigested(rel: string): boolean {
  return EXCLUDED.has(rel);
}
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
  id: {
    packageName: string;
    version: string;
    /** The files a loaded bundle was parsed from (RunbookBundle.parsed): they must be those hashed. */
    parsed?: Readonly<Record<string, string | Buffer>>;
  },
): Promise<BundleDigest> {
  const read = await readBundleFiles(dir);
  if (id.parsed) refuseChangedSinceParsed(dir, read, id.parsed);
  const files: DigestedFile[] = read.map((file) => ({
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
  const listed = walkBundle(dir);
  if (listed.refusals.length)
    throw new ValidationError(
      listed.refusals.map((r) => ({
        file: r.file,
        line: 0,
        col: 0,
        rule: r.rule,
        message: r.message,
      })),
    );
  for (const rel of listed.files) {
    if (EXCLUDED.has(rel)) continue;
    files.push({ path: rel, bytes: readFileSync(path.join(dir, ...rel.split('/'))) });
  }
  return files;
}

/**
 * The runbook a plan renders is the one parsed; the digest a senior signed is over the bytes read
 * here, later. A runbook.yaml swapped between the two reads (an engineer renaming another copy in
 * while `opsbook run` loads its inventory) would run steps and param rules nobody signed under the
 * signed digest: the parsed text must be the digested bytes.
 */
function refuseChangedSinceParsed(
  dir: string,
  read: ReadonlyArray<{ path: string; bytes: Buffer }>,
  parsed: Readonly<Record<string, string | Buffer>>,
): void {
  const changed = Object.entries(parsed).filter(([rel, input]) => {
    const now = read.find((f) => f.path === rel)?.bytes;
    return !now?.equals(typeof input === 'string' ? Buffer.from(input, 'utf8') : input);
  });
  if (changed.length === 0) return;
  throw new ValidationError(
    changed.map(([rel]) => ({
      file: path.join(dir, ...rel.split('/')),
      line: 0,
      col: 0,
      rule: 'changed-while-read',
      message: `${rel} changed while opsbook read the runbook folder (the bytes it parsed are not the bytes it digested), so nothing was planned or run from it: keep the runbook folder unchanged while opsbook reads it (no checkout, copy or editor writing there meanwhile), then try again`,
    })),
  );
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
