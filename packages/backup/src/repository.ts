import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  isProcessAlive,
  makeDirectory,
  processStartTime,
  syncDirectory,
  UsageError,
  writeFileAtomic,
} from '@opsbook/schema';
import { backupErrors } from './error-codes.js';
import { type Manifest, parseManifest } from './manifest.js';

/**
 * A backup repository is a local folder:
 *
 *   <repo>/backups/<id>/manifest.json   what the backup holds (see manifest.ts)
 *   <repo>/backups/<id>/<archive>       archives named in the manifest
 *   <repo>/backups/<id>/verified.json   outcome of the last `verify` (not covered by the manifest)
 *   <repo>/staging/<id>.<pid>/          a backup being written, or one that was interrupted
 *
 * A backup is written entirely in `staging/`, fsynced, then moved into `backups/` by one
 * rename(2); deletion moves it back out first. So `backups/` only ever holds complete backups,
 * whatever moment a backup or a prune is killed at.
 */
export interface Repository {
  dir: string;
  backupsDir: string;
  stagingDir: string;
}

export interface BackupEntry {
  id: string;
  dir: string;
  manifest: Manifest;
  /**
   * `sha256:` of manifest.json's bytes as read (the manifest above is parsed from them). The
   * manifest names every archive's sha256 and size, so this one digest stands for the backup's
   * content: a plan that restores a backup binds it (`manifest` in the step's `with:`).
   */
  manifestDigest: string;
  verification: VerificationRecord | undefined;
}

/** What selects one backup: an id or `latest` (of a source, host, kind), and its bound manifest. */
export interface BackupQuery {
  id: string;
  source?: string;
  host?: string;
  kind?: string;
  /** The manifest digest the approved plan bound: another one is refused (BACKUP_CHANGED). */
  manifest?: string;
}

/** An entry of `backups/` whose manifest is missing or malformed: reported, never deleted silently. */
export interface BrokenEntry {
  id: string;
  dir: string;
  problem: string;
}

export interface VerificationRecord {
  verifiedAt: string;
  ok: boolean;
  problems: string[];
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Opens (and with `create`, makes) a repository folder. */
export async function openRepository(
  dir: string,
  options: { create?: boolean } = {},
): Promise<Repository> {
  const repo = {
    dir: path.resolve(dir),
    backupsDir: path.resolve(dir, 'backups'),
    stagingDir: path.resolve(dir, 'staging'),
  };
  if (options.create) {
    await makeDirectory(repo.backupsDir, { mode: 0o700 });
    await makeDirectory(repo.stagingDir, { mode: 0o700 });
    return repo;
  }
  const found = await readdir(repo.backupsDir).catch(() => undefined);
  if (!found) {
    throw new UsageError(
      `${repo.dir} is not a backup repository: it has no backups/ folder inside it; check the path (a repository is the folder a backup run's repository names, e.g. <stateDir>/backups)`,
    );
  }
  return repo;
}

/** A new backup id: sortable by time, safe as a file name, unique. */
export function newBackupId(kind: string, host: string, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const slug = host.replace(/[^A-Za-z0-9.-]+/g, '_').slice(0, 40) || 'host';
  return `${stamp}-${kind}-${slug}-${randomBytes(3).toString('hex')}`;
}

/** A staging folder for a new backup; commit it with `commitBackup`. */
export async function stageBackup(repo: Repository, id: string): Promise<string> {
  if (!ID_PATTERN.test(id)) throw new UsageError(`backup id ${id} is not a safe folder name`);
  await makeDirectory(repo.stagingDir, { mode: 0o700 });
  await makeDirectory(repo.backupsDir, { mode: 0o700 });
  // Named by its process (PID and start time), so that prune tells one left by a killed backup.
  const start = processStartTime(process.pid);
  const dir = path.join(
    repo.stagingDir,
    `${id}.${process.pid}${start === undefined ? '' : `-${start}`}`,
  );
  await mkdir(dir, { mode: 0o700 });
  return dir;
}

/** Writes the manifest last, fsyncs, and publishes the staged backup with one rename. */
export async function commitBackup(
  repo: Repository,
  stagedDir: string,
  manifest: Manifest,
): Promise<{ dir: string; manifestDigest: string }> {
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  await writeDurable(path.join(stagedDir, 'manifest.json'), text);
  await syncDirectory(stagedDir);
  const final = path.join(repo.backupsDir, manifest.id);
  await rename(stagedDir, final);
  await syncDirectory(repo.backupsDir);
  return { dir: final, manifestDigest: digestOfManifest(Buffer.from(text)) };
}

/** `sha256:` of a manifest.json's bytes (BackupEntry.manifestDigest). */
function digestOfManifest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Removes a staging folder (a failed or cancelled backup). */
export async function discardStaged(stagedDir: string): Promise<void> {
  await rm(stagedDir, { recursive: true, force: true });
}

/** Every complete backup, oldest first, and the entries of backups/ that are not valid. */
export async function listBackups(
  repo: Repository,
): Promise<{ backups: BackupEntry[]; broken: BrokenEntry[] }> {
  const names = (await readdir(repo.backupsDir)).sort();
  const backups: BackupEntry[] = [];
  const broken: BrokenEntry[] = [];
  for (const id of names) {
    const dir = path.join(repo.backupsDir, id);
    const file = path.join(dir, 'manifest.json');
    const bytes = await readFile(file).catch(() => undefined);
    if (bytes === undefined) {
      broken.push({ id, dir, problem: `${file} is missing` });
      continue;
    }
    try {
      const manifest = await parseManifest(file, bytes.toString('utf8'));
      if (manifest.id !== id)
        throw new UsageError(`${file} names backup ${manifest.id}, not ${id}`);
      backups.push({
        id,
        dir,
        manifest,
        manifestDigest: digestOfManifest(bytes),
        verification: await readVerification(dir),
      });
    } catch (e) {
      broken.push({ id, dir, problem: (e as Error).message });
    }
  }
  backups.sort(
    (a, b) => a.manifest.startedAt.localeCompare(b.manifest.startedAt) || a.id.localeCompare(b.id),
  );
  return { backups, broken };
}

/**
 * Finds one backup by id, or `latest` of a source/host/kind; with `manifest`, only the backup the
 * approved plan bound (BACKUP_CHANGED when its manifest is another now).
 */
export async function findBackup(repo: Repository, selector: BackupQuery): Promise<BackupEntry> {
  const { backups } = await listBackups(repo);
  const found = matchBackup(backups, selector);
  if (!found) {
    throw new backupErrors.WorkFailedError(
      'BACKUP_NOT_FOUND',
      `no backup ${selector.id}${selector.source ? ` of ${selector.source}` : ''}${selector.host ? ` from ${selector.host}` : ''} in ${repo.dir}: list them with opsbook backup list`,
      { repository: repo.dir, ...selector },
    );
  }
  if (selector.manifest !== undefined && found.manifestDigest !== selector.manifest)
    throw new backupErrors.RefusalError(
      'BACKUP_CHANGED',
      `backup ${found.id} in ${repo.dir} is not the one the approval bound: its manifest is ${found.manifestDigest}, the plan signed ${selector.manifest}. Nothing was restored or compared; plan the run again and have it approved`,
      { repository: repo.dir, backup: found.id },
    );
  return found;
}

/** The backup a query names among `backups` (oldest first): the id, or the newest match. */
export function matchBackup(
  backups: readonly BackupEntry[],
  selector: BackupQuery,
): BackupEntry | undefined {
  return backups
    .filter(
      (b) =>
        (selector.id === 'latest' || b.id === selector.id) &&
        (selector.source === undefined || b.manifest.source === selector.source) &&
        (selector.host === undefined || b.manifest.host === selector.host) &&
        (selector.kind === undefined || b.manifest.kind === selector.kind),
    )
    .at(-1);
}

/** Deletes a backup: moved out of backups/ first, so a half-deleted one never looks complete. */
export async function removeBackup(repo: Repository, entry: { id: string }): Promise<void> {
  const doomed = path.join(
    repo.stagingDir,
    `${entry.id}.deleting-${randomBytes(3).toString('hex')}`,
  );
  await makeDirectory(repo.stagingDir, { mode: 0o700 });
  await rename(path.join(repo.backupsDir, entry.id), doomed);
  await syncDirectory(repo.backupsDir);
  await rm(doomed, { recursive: true, force: true });
}

/** Staging folders left by backups or prunes that were killed (their process is gone). */
export async function listAbandoned(repo: Repository): Promise<string[]> {
  const names = await readdir(repo.stagingDir).catch(() => [] as string[]);
  return names
    .filter((name) => {
      // `<id>.<pid>-<start time>`, or `<id>.<pid>` when made off Linux or by an earlier version.
      const m = /\.(\d+)(?:-(\d+))?$/.exec(name);
      const pid = Number(m?.[1]);
      return !(m && Number.isSafeInteger(pid) && isProcessAlive(pid, m[2]));
    })
    .map((name) => path.join(repo.stagingDir, name));
}

export async function readVerification(dir: string): Promise<VerificationRecord | undefined> {
  const text = await readFile(path.join(dir, 'verified.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as VerificationRecord;
    return typeof value.ok === 'boolean' && typeof value.verifiedAt === 'string'
      ? value
      : undefined;
  } catch {
    return undefined; // a torn record counts as never verified
  }
}

export async function writeVerification(dir: string, record: VerificationRecord): Promise<void> {
  await writeFileAtomic(path.join(dir, 'verified.json'), `${JSON.stringify(record, null, 2)}\n`);
}

async function writeDurable(file: string, text: string): Promise<void> {
  const handle = await open(file, 'w', 0o600);
  try {
    await writeFile(handle, text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
