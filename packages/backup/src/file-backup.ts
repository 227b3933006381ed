import path from 'node:path';
import { execStream, quoteShellArg, type Transport } from '@opsbook/exec';
import { UsageError } from '@opsbook/schema';
import { writeArchive } from './archive-writer.js';
import { backupErrors } from './error-codes.js';
import type { Manifest } from './manifest.js';
import { probeTools } from './probe-tools.js';
import { type BackupEntry, openRepository } from './repository.js';
import { takeStagedBackup } from './staged-backup.js';

export type Compression = 'auto' | 'zstd' | 'gzip' | 'none';

export interface FileBackupRequest {
  transport: Transport;
  repository: string;
  /** Absolute paths on the host: files or folders. */
  paths: string[];
  /** Patterns passed to tar's --exclude. */
  exclude?: string[];
  /** `auto`: zstd on the host when it has it, else gzip here. Default auto. */
  compression?: Compression;
  /** What a file changing while tar reads it does: keep the backup flagged (warn), or fail. */
  onChange?: 'warn' | 'fail';
  sudo?: boolean;
  runId?: string;
  signal?: AbortSignal | undefined;
  onProgress?: (event: BackupProgress) => void;
  now?: () => Date;
}

export interface BackupProgress {
  backupId: string;
  archive: string;
  bytes: number;
}

export interface BackupOutcome {
  backup: BackupEntry;
  /** Files that changed or vanished while being read: the archive may hold torn copies. */
  warnings: Manifest['warnings'];
}

const TAR_EXIT_MARK = 'opsbook-tar-exit:';
const TAR_VERSION_MARK = 'opsbook-tar-version:';

/**
 * Backs up files and folders of a host: GNU tar runs on the host and writes the archive to
 * stdout, which streams over the SSH channel into the repository's staging folder. Nothing
 * lands in `backups/` unless tar ended with 0 (or 1: files changed, reported in the manifest).
 */
export async function backupFiles(request: FileBackupRequest): Promise<BackupOutcome> {
  const paths = request.paths.map(checkSourcePath);
  if (!paths.length) throw new UsageError('backup.files needs at least one path');
  const now = request.now ?? (() => new Date());
  const repo = await openRepository(request.repository, { create: true });
  // An explicit gzip/none needs no probe: tar reports its version on stderr in the same command,
  // which saves a round trip (and a login shell) per backup.
  const wanted = request.compression ?? 'auto';
  const probed = wanted === 'auto' || wanted === 'zstd';
  const tools = probed ? await probeTools(request.transport, ['tar', 'zstd'], request.signal) : {};
  if (probed) requireGnuTar(tools.tar, request.transport.host);
  const compression = chooseCompression(wanted, tools.zstd !== undefined, request.transport.host);
  const startedAt = now();
  return takeStagedBackup(
    repo,
    {
      kind: 'files',
      host: request.transport.host,
      startedAt,
      signal: request.signal,
      cancelledMessage: `the backup of ${request.transport.host} was cancelled; nothing was kept`,
    },
    async ({ id, dir, signal }) => {
      const command = tarCommand(paths, request.exclude ?? [], compression === 'zstd', !probed);
      const run = execStream(request.transport, {
        command,
        sudo: request.sudo,
        signal,
        maxCapturedBytes: 4 * 1024 * 1024,
      });
      const name = `files.tar${compression === 'zstd' ? '.zst' : compression === 'gzip' ? '.gz' : ''}`;
      const written = writeArchive(run.stdout, {
        dir,
        name,
        format: compression === 'zstd' ? 'tar+zstd' : compression === 'gzip' ? 'tar+gzip' : 'tar',
        gzip: compression === 'gzip',
        signal,
        onProgress: (p) => request.onProgress?.({ backupId: id, ...p }),
      });
      const [archive, exit] = await Promise.all([written, run.done]);
      if (!probed) {
        const version = versionReported(exit.stderr);
        requireGnuTar(version, request.transport.host);
        tools.tar = version!;
      }
      const warnings = judgeTar(exit, compression === 'zstd', request.transport.host);
      if (warnings.length && request.onChange === 'fail') {
        throw new backupErrors.WorkFailedError(
          'BACKUP_SOURCE_CHANGED',
          `host ${request.transport.host}: ${warnings.length} file(s) changed while being backed up (${warnings
            .slice(0, 3)
            .map((w) => w.path ?? w.message)
            .join(', ')}): nothing was kept; stop the writer or use onChange: warn`,
          { host: request.transport.host, warnings },
        );
      }
      const manifest: Manifest = {
        format: 'opsbook-backup/v1',
        id,
        kind: 'files',
        source: `files:${paths.join(',')}`,
        host: request.transport.host,
        paths,
        startedAt: startedAt.toISOString(),
        finishedAt: now().toISOString(),
        runId: request.runId ?? null,
        archives: [archive],
        tools: {
          ...tools,
          ...(compression === 'gzip' ? { gzip: `node zlib ${process.versions.zlib}` } : {}),
        },
        warnings,
      };
      if (compression !== 'zstd') delete manifest.tools.zstd;
      return manifest;
    },
  );
}

function checkSourcePath(p: string): string {
  if (!p.startsWith('/') || p.includes('\0') || p.split('/').includes('..')) {
    throw new UsageError(`backup path ${JSON.stringify(p)} must be absolute, without '..'`);
  }
  const normal = path.posix.normalize(p);
  return normal.length > 1 ? normal.replace(/\/$/, '') : normal;
}

function chooseCompression(
  wanted: Compression,
  hostHasZstd: boolean,
  host: string,
): Exclude<Compression, 'auto'> {
  if (wanted === 'auto') return hostHasZstd ? 'zstd' : 'gzip';
  if (wanted === 'zstd' && !hostHasZstd) {
    throw new backupErrors.WorkFailedError(
      'BACKUP_ZSTD_MISSING',
      `host ${host} has no zstd: install it, or use compression gzip or auto`,
      { host },
    );
  }
  return wanted;
}

/** The host side: tar relative to /, so archives restore under any target folder. */
export function tarCommand(
  paths: string[],
  exclude: string[],
  zstd: boolean,
  reportVersion = false,
): string {
  const members = paths.map((p) => (p === '/' ? '.' : p.slice(1)));
  const tar = [
    'tar',
    '-C',
    '/',
    '--create',
    '--file=-',
    '--sparse',
    ...exclude.map((e) => `--exclude=${e}`),
    '--',
    ...members,
  ]
    .map((a) => quoteShellArg(a))
    .join(' ');
  const version = reportVersion
    ? `printf '${TAR_VERSION_MARK}%s\\n' "$(tar --version 2>&1 | head -n 1)" >&2; `
    : '';
  if (!zstd) return `${version}${tar}`;
  // The pipeline's status is zstd's; tar's is passed out on stderr, since sh has no pipefail.
  return `${version}{ ${tar}; echo "${TAR_EXIT_MARK}$?" >&2; } | zstd -q -c`;
}

/** Turns tar's exit and stderr into warnings, or throws for a failed archive. */
export function judgeTar(
  exit: { exitCode: number | null; signal: string | null; stderr: string },
  zstd: boolean,
  host: string,
): Manifest['warnings'] {
  let tarExit = exit.exitCode;
  const lines: string[] = [];
  for (const line of exit.stderr.split('\n')) {
    if (line.startsWith(TAR_VERSION_MARK)) continue;
    if (zstd && line.startsWith(TAR_EXIT_MARK)) tarExit = Number(line.slice(TAR_EXIT_MARK.length));
    else if (line.trim()) lines.push(line);
  }
  if (zstd && exit.exitCode !== 0) tarExit = exit.exitCode ?? tarExit;
  if (tarExit !== 0 && tarExit !== 1) {
    throw new backupErrors.WorkFailedError(
      'BACKUP_SOURCE_FAILED',
      `host ${host}: tar failed (${exit.signal ?? `exit ${tarExit}`}): ${lines.slice(-5).join(' | ') || 'no message'}; nothing was kept`,
      { host, exitCode: tarExit, stderr: lines.slice(-20) },
    );
  }
  return lines.map(parseTarWarning);
}

function parseTarWarning(line: string): { path?: string; message: string } {
  const m = /^tar: (.*): ([^:]+)$/.exec(line);
  return m ? { path: `/${m[1]!.replace(/^\/+/, '')}`, message: m[2]! } : { message: line };
}

function versionReported(stderr: string): string | undefined {
  const line = stderr.split('\n').find((l) => l.startsWith(TAR_VERSION_MARK));
  return line?.slice(TAR_VERSION_MARK.length).trim();
}

function requireGnuTar(version: string | undefined, host: string): void {
  if (version?.includes('GNU tar')) return;
  throw new backupErrors.WorkFailedError(
    'BACKUP_TAR_MISSING',
    `host ${host}: GNU tar is needed for file backups (found ${version || 'no tar'}): install it`,
    { host },
  );
}
