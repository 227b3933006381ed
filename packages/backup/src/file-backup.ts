import path from 'node:path';
import type { Readable } from 'node:stream';
import { execStream, quoteShellArg, type StreamExecution, type Transport } from '@opsbook/exec';
import { UsageError } from '@opsbook/schema';
import { writeArchive } from './archive-writer.js';
import { backupErrors } from './error-codes.js';
import type { Manifest } from './manifest.js';
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
const ZSTD_VERSION_MARK = 'opsbook-zstd-version:';
/** The host has no zstd and `compression: zstd` was asked. */
const ZSTD_MISSING = 83;

/**
 * Backs up files and folders of a host: GNU tar runs on the host and writes the archive to
 * stdout, which streams over the SSH channel into the repository's staging folder. One command
 * does it all, with one login on the host: it reports tar's version on stderr and, for
 * compression `auto` or `zstd`, whether it compresses with zstd, as the first line of stdout
 * (`zstd` or `none`: then gzip here, for `auto`). Nothing lands in `backups/` unless tar ended
 * with 0 (or 1: files changed, reported in the manifest).
 */
export async function backupFiles(request: FileBackupRequest): Promise<BackupOutcome> {
  const paths = request.paths.map(checkSourcePath);
  if (!paths.length) throw new UsageError('backup.files needs at least one path');
  const now = request.now ?? (() => new Date());
  const repo = await openRepository(request.repository, { create: true });
  const wanted = request.compression ?? 'auto';
  const host = request.transport.host;
  const startedAt = now();
  return takeStagedBackup(
    repo,
    {
      kind: 'files',
      host,
      startedAt,
      signal: request.signal,
      cancelledMessage: `the backup of ${host} was cancelled; nothing was kept`,
    },
    async ({ id, dir, signal, writtenBy }) => {
      const run = writtenBy(
        execStream(request.transport, {
          command: tarCommand(paths, request.exclude ?? [], wanted),
          sudo: request.sudo,
          signal,
          maxCapturedBytes: 4 * 1024 * 1024,
        }),
      );
      const compression =
        wanted === 'auto' || wanted === 'zstd' ? await hostCompression(run, wanted, host) : wanted;
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
      const tar = reported(exit.stderr, TAR_VERSION_MARK);
      requireGnuTar(tar, host);
      const warnings = judgeTar(exit, compression === 'zstd', host);
      if (warnings.length && request.onChange === 'fail') {
        throw new backupErrors.WorkFailedError(
          'BACKUP_SOURCE_CHANGED',
          `host ${host}: ${warnings.length} file(s) changed while being backed up (${warnings
            .slice(0, 3)
            .map((w) => w.path ?? w.message)
            .join(', ')}): nothing was kept; stop the writer or use onChange: warn`,
          { host, warnings },
        );
      }
      const zstd = reported(exit.stderr, ZSTD_VERSION_MARK);
      return {
        format: 'opsbook-backup/v1',
        id,
        kind: 'files',
        source: `files:${paths.join(',')}`,
        host,
        paths,
        startedAt: startedAt.toISOString(),
        finishedAt: now().toISOString(),
        runId: request.runId ?? null,
        archives: [archive],
        tools: {
          tar: tar!,
          ...(compression === 'zstd' && zstd ? { zstd } : {}),
          ...(compression === 'gzip' ? { gzip: `node zlib ${process.versions.zlib}` } : {}),
        },
        warnings,
      };
    },
  );
}

/**
 * For `auto` and `zstd`: the first line of the command's stdout, `zstd` or `none`, taken off the
 * stream before the archive. `none` is gzip here for `auto`; for `zstd` the command exits
 * ZSTD_MISSING instead.
 */
async function hostCompression(
  run: StreamExecution,
  wanted: 'auto' | 'zstd',
  host: string,
): Promise<Exclude<Compression, 'auto'>> {
  const line = await takeFirstLine(run.stdout);
  if (line === 'zstd') return 'zstd';
  if (line === 'none' && wanted === 'auto') return 'gzip';
  run.stdout.resume();
  const exit = await run.done;
  if (exit.exitCode === ZSTD_MISSING)
    throw new backupErrors.WorkFailedError(
      'BACKUP_ZSTD_MISSING',
      `host ${host} has no zstd: install it, or use compression gzip or auto`,
      { host },
    );
  requireGnuTar(reported(exit.stderr, TAR_VERSION_MARK), host);
  judgeTar(exit, false, host);
  throw new backupErrors.WorkFailedError(
    'BACKUP_SOURCE_FAILED',
    `host ${host}: the backup command ended without an archive (${exit.signal ?? `exit ${exit.exitCode}`}): ${exit.stderr.trim().split('\n').slice(-3).join(' | ') || 'no message'}; nothing was kept`,
    { host },
  );
}

/** The first line of a byte stream (at most 64 bytes), the rest left in the stream. */
async function takeFirstLine(stream: Readable): Promise<string | undefined> {
  let head = Buffer.alloc(0);
  for (;;) {
    const chunk = stream.read() as Buffer | null;
    if (chunk === null) {
      if (stream.readableEnded || stream.destroyed) return undefined;
      await new Promise<void>((resolve) => {
        const events = ['readable', 'end', 'error', 'close'] as const;
        const done = () => {
          for (const e of events) stream.off(e, done);
          resolve();
        };
        for (const e of events) stream.on(e, done);
      });
      continue;
    }
    head = Buffer.concat([head, chunk]);
    const newline = head.indexOf(10);
    if (newline >= 0) {
      if (newline + 1 < head.length) stream.unshift(head.subarray(newline + 1));
      return head.subarray(0, newline).toString('utf8');
    }
    if (head.length > 64) {
      stream.unshift(head);
      return undefined;
    }
  }
}

function checkSourcePath(p: string): string {
  if (!p.startsWith('/') || p.includes('\0') || p.split('/').includes('..')) {
    throw new UsageError(`backup path ${JSON.stringify(p)} must be absolute, without '..'`);
  }
  const normal = path.posix.normalize(p);
  return normal.length > 1 ? normal.replace(/\/$/, '') : normal;
}

/**
 * The host side: tar relative to /, so archives restore under any target folder; tar's version
 * on stderr; with `auto`/`zstd`, the compression chosen as the first line of stdout.
 */
export function tarCommand(paths: string[], exclude: string[], compression: Compression): string {
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
  const version = `nl='\n'\n${versionLine('tar', TAR_VERSION_MARK)}`;
  if (compression === 'gzip' || compression === 'none') return `${version}\n${tar}`;
  // The pipeline's status is zstd's; tar's is passed out on stderr, since sh has no pipefail.
  const zstd = [
    versionLine('zstd', ZSTD_VERSION_MARK),
    "printf 'zstd\\n'",
    `{ ${tar}; echo "${TAR_EXIT_MARK}$?" >&2; } | zstd -q -c`,
  ].join('\n');
  const without = compression === 'zstd' ? `exit ${ZSTD_MISSING}` : `printf 'none\\n'\n${tar}`;
  return `${version}\nif command -v zstd >/dev/null 2>&1; then\n${zstd}\nelse\n${without}\nfi`;
}

/**
 * `MARK` and the first line of `tool --version` on stderr. The line is cut by the shell (`$nl`
 * is a newline), not by `head`: one process less before the archive starts (~5 ms a tool).
 */
function versionLine(tool: 'tar' | 'zstd', mark: string): string {
  return `v=$(${tool} --version 2>&1); printf '${mark}%s\\n' "\${v%%"$nl"*}" >&2`;
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
    if (line.startsWith(TAR_VERSION_MARK) || line.startsWith(ZSTD_VERSION_MARK)) continue;
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

/** The value of a `MARK<value>` line of stderr. */
function reported(stderr: string, mark: string): string | undefined {
  const line = stderr.split('\n').find((l) => l.startsWith(mark));
  return line?.slice(mark.length).trim();
}

function requireGnuTar(version: string | undefined, host: string): void {
  if (version?.includes('GNU tar')) return;
  throw new backupErrors.WorkFailedError(
    'BACKUP_TAR_MISSING',
    `host ${host}: GNU tar is needed for file backups (found ${version || 'no tar'}): install it`,
    { host },
  );
}
