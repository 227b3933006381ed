import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { hashFile } from './archive-writer.js';
import type { ArchiveEntry } from './manifest.js';
import {
  type BackupEntry,
  listBackups,
  openRepository,
  type Repository,
  writeVerification,
} from './repository.js';

const run = promisify(execFile);

export type ArchiveProblemKind =
  | 'missing'
  | 'truncated'
  | 'altered'
  | 'unreadable'
  | 'unexpected'
  | 'manifest';

/** One thing wrong with a backup, naming the file. */
export interface ArchiveProblem {
  backupId: string;
  /** Path of the file, relative to the repository. */
  file: string;
  kind: ArchiveProblemKind;
  message: string;
}

export interface BackupVerification {
  backupId: string;
  source?: string;
  host?: string;
  ok: boolean;
  problems: ArchiveProblem[];
}

export interface VerifyReport {
  repository: string;
  ok: boolean;
  backups: BackupVerification[];
}

export interface VerifyOptions {
  /** Only these backup ids; default all. */
  ids?: string[];
  /** pg_restore used for `--list` of PostgreSQL dumps; default `pg_restore` on PATH. */
  pgRestore?: string;
  /** Record the outcome in each backup's verified.json (retention relies on it). Default true. */
  record?: boolean;
  now?: () => Date;
  signal?: AbortSignal | undefined;
}

/**
 * Re-reads every archive of every backup and compares it with its manifest: size and sha256;
 * a PostgreSQL dump must also be readable by `pg_restore --list`. Entries of `backups/` without a
 * valid manifest, and files no manifest names, are problems too.
 */
export async function verifyRepository(
  dir: string,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const repo = await openRepository(dir);
  const { backups, broken } = await listBackups(repo);
  const wanted = options.ids ? new Set(options.ids) : undefined;
  const results: BackupVerification[] = [];
  for (const b of broken) {
    if (wanted && !wanted.has(b.id)) continue;
    results.push({
      backupId: b.id,
      ok: false,
      problems: [
        {
          backupId: b.id,
          file: rel(repo, path.join(b.dir, 'manifest.json')),
          kind: 'manifest',
          message: b.problem,
        },
      ],
    });
  }
  for (const backup of backups) {
    if (wanted && !wanted.has(backup.id)) continue;
    options.signal?.throwIfAborted();
    const problems = await verifyBackup(repo, backup, options);
    results.push({
      backupId: backup.id,
      source: backup.manifest.source,
      host: backup.manifest.host,
      ok: !problems.length,
      problems,
    });
    if (options.record !== false) {
      await writeVerification(backup.dir, {
        verifiedAt: (options.now?.() ?? new Date()).toISOString(),
        ok: !problems.length,
        problems: problems.map((p) => `${p.file}: ${p.message}`),
      });
    }
  }
  if (wanted) {
    for (const id of wanted) {
      if (!results.some((r) => r.backupId === id)) {
        results.push({
          backupId: id,
          ok: false,
          problems: [
            { backupId: id, file: `backups/${id}`, kind: 'missing', message: 'no such backup' },
          ],
        });
      }
    }
  }
  return { repository: repo.dir, ok: results.every((r) => r.ok), backups: results };
}

export async function verifyBackup(
  repo: Repository,
  backup: BackupEntry,
  options: VerifyOptions = {},
): Promise<ArchiveProblem[]> {
  const problems: ArchiveProblem[] = [];
  const named = new Set([
    'manifest.json',
    'verified.json',
    ...backup.manifest.archives.map((a) => a.name),
  ]);
  for (const archive of backup.manifest.archives) {
    const problem = await checkArchive(backup, archive, options);
    if (problem)
      problems.push({
        backupId: backup.id,
        file: rel(repo, path.join(backup.dir, archive.name)),
        ...problem,
      });
  }
  for (const name of await readdir(backup.dir)) {
    if (named.has(name) || name.startsWith('.verified.json.')) continue;
    problems.push({
      backupId: backup.id,
      file: rel(repo, path.join(backup.dir, name)),
      kind: 'unexpected',
      message: 'is not named in the manifest',
    });
  }
  return problems;
}

async function checkArchive(
  backup: BackupEntry,
  archive: ArchiveEntry,
  options: VerifyOptions,
): Promise<{ kind: ArchiveProblemKind; message: string } | undefined> {
  const file = path.join(backup.dir, archive.name);
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) return { kind: 'missing', message: 'is missing' };
  if (info.size < archive.size)
    return {
      kind: 'truncated',
      message: `is truncated: ${info.size} bytes, the manifest says ${archive.size}`,
    };
  const { sha256, size } = await hashFile(file, options.signal);
  if (size !== archive.size)
    return { kind: 'altered', message: `has ${size} bytes, the manifest says ${archive.size}` };
  if (sha256 !== archive.sha256)
    return {
      kind: 'altered',
      message: `was altered: sha256 ${sha256.slice(0, 16)}…, the manifest says ${archive.sha256.slice(0, 16)}…`,
    };
  if (archive.format === 'pg_dump-custom') {
    try {
      await run(options.pgRestore ?? 'pg_restore', ['--list', file], {
        maxBuffer: 256 * 1024 * 1024,
      });
    } catch (e) {
      const err = e as { stderr?: string; code?: string };
      const why =
        err.code === 'ENOENT'
          ? 'pg_restore is not installed here'
          : (err.stderr ?? '').trim().split('\n')[0];
      return { kind: 'unreadable', message: `pg_restore --list fails: ${why}` };
    }
  }
  return undefined;
}

function rel(repo: Repository, file: string): string {
  return path.relative(repo.dir, file);
}
