import path from 'node:path';
import { quoteShellArg, type Transport } from '@opsbook/exec';
import { UsageError } from '@opsbook/schema';
import { hashFile } from './archive-writer.js';
import { backupErrors } from './error-codes.js';
import type { ArchiveEntry, TableStat } from './manifest.js';
import { type PostgresTarget, postgresEnv } from './postgres-backup.js';
import { type BackupEntry, findBackup, openRepository } from './repository.js';
import {
  compareTableStats,
  parseTableStats,
  TABLE_STATS_SQL,
  type TableDifference,
} from './table-stats.js';

export interface BackupSelector {
  /** A backup id, or `latest`. */
  id: string;
  source?: string;
  host?: string;
}

export interface FileRestoreRequest {
  transport: Transport;
  repository: string;
  backup: BackupSelector;
  /** Absolute folder on the host; created if missing. Archives hold paths relative to /. */
  targetDir: string;
  /** Refuse a non-empty target unless true. */
  overwrite?: boolean;
  sudo?: boolean;
  signal?: AbortSignal | undefined;
}

export interface RestoreOutcome {
  backupId: string;
  host: string;
  target: string;
  tables?: TableStat[];
  differences?: TableDifference[];
}

/** Extracts a file backup into a folder of a host. The archive is re-hashed first: an altered one is refused. */
export async function restoreFiles(request: FileRestoreRequest): Promise<RestoreOutcome> {
  if (!request.targetDir.startsWith('/') || request.targetDir.split('/').includes('..')) {
    throw new UsageError(
      `restore target ${request.targetDir} must be an absolute folder without '..'`,
    );
  }
  const entry = await pickBackup(request.repository, { ...request.backup }, 'files');
  const archive = await checkedArchive(entry);
  const target = quoteShellArg(request.targetDir);
  const decompress =
    archive.format === 'tar+zstd' ? ' --zstd' : archive.format === 'tar+gzip' ? ' --gzip' : '';
  await withUploaded(request.transport, entry, archive, request.signal, async (remote) => {
    const guard = request.overwrite
      ? ''
      : `if [ -n "$(ls -A ${target} 2>/dev/null)" ]; then echo "target is not empty" >&2; exit 3; fi\n`;
    const result = await request.transport.exec({
      command: `${guard}mkdir -p ${target} && tar -C ${target} --extract --file=${quoteShellArg(remote)}${decompress}`,
      sudo: request.sudo,
      signal: request.signal,
    });
    if (result.exitCode !== 0) {
      throw new backupErrors.WorkFailedError(
        result.exitCode === 3 ? 'RESTORE_TARGET_NOT_EMPTY' : 'RESTORE_FAILED',
        `restoring ${entry.id} into ${request.targetDir} on ${request.transport.host} failed: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}${result.exitCode === 3 ? ': choose an empty folder or set overwrite' : ''}`,
        { backupId: entry.id, host: request.transport.host },
      );
    }
  });
  return { backupId: entry.id, host: request.transport.host, target: request.targetDir };
}

export interface PostgresRestoreRequest {
  transport: Transport;
  repository: string;
  backup: BackupSelector;
  target: PostgresTarget;
  /** Drop objects of the dump that exist in the target first (pg_restore --clean --if-exists). */
  clean?: boolean;
  sudo?: boolean;
  signal?: AbortSignal | undefined;
}

/**
 * Restores a dump into an existing database with pg_restore, then counts and checksums every
 * table and compares them with the stats recorded at backup time (`differences`).
 */
export async function restorePostgres(request: PostgresRestoreRequest): Promise<RestoreOutcome> {
  const entry = await pickBackup(request.repository, request.backup, 'postgres');
  const archive = await checkedArchive(entry);
  const env = postgresEnv(request.target);
  await withUploaded(request.transport, entry, archive, request.signal, async (remote) => {
    const flags = [
      '--no-password',
      '--exit-on-error',
      '--no-owner',
      ...(request.clean ? ['--clean', '--if-exists'] : []),
    ];
    const result = await request.transport.exec({
      command: `pg_restore ${flags.join(' ')} --dbname="$PGDATABASE" ${quoteShellArg(remote)}`,
      env,
      sudo: request.sudo,
      signal: request.signal,
    });
    if (result.exitCode !== 0) {
      throw new backupErrors.WorkFailedError(
        'RESTORE_FAILED',
        `pg_restore of ${entry.id} into ${request.target.database} on ${request.transport.host} failed: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`,
        { backupId: entry.id, host: request.transport.host },
      );
    }
  });
  const tables = await databaseTableStats(request.transport, request.target, request);
  const differences = entry.manifest.tables
    ? compareTableStats(entry.manifest.tables, tables)
    : undefined;
  return {
    backupId: entry.id,
    host: request.transport.host,
    target: request.target.database,
    tables,
    ...(differences ? { differences } : {}),
  };
}

/** Row count and checksum of every table of a database, as TABLE_STATS_SQL computes them. */
export async function databaseTableStats(
  transport: Transport,
  target: PostgresTarget,
  options: { sudo?: boolean | undefined; signal?: AbortSignal | undefined } = {},
): Promise<TableStat[]> {
  const result = await transport.exec({
    command:
      'printf "%s\\n" "$OPSBOOK_TABLE_STATS_SQL" | psql -X -q -A -t -v ON_ERROR_STOP=1 --no-password',
    env: { ...postgresEnv(target), OPSBOOK_TABLE_STATS_SQL: TABLE_STATS_SQL },
    sudo: options.sudo,
    signal: options.signal,
    maxCapturedBytes: 16 * 1024 * 1024,
  });
  if (result.exitCode !== 0) {
    throw new backupErrors.WorkFailedError(
      'DATABASE_STATS_FAILED',
      `could not count the tables of ${target.database} on ${transport.host}: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      { host: transport.host, database: target.database },
    );
  }
  return parseTableStats(result.stdout);
}

export async function pickBackup(
  repository: string,
  selector: BackupSelector,
  kind: 'files' | 'postgres',
): Promise<BackupEntry> {
  const repo = await openRepository(repository);
  return findBackup(repo, { ...selector, kind });
}

/** The backup's archive, after checking its bytes still match the manifest. */
export async function checkedArchive(entry: BackupEntry): Promise<ArchiveEntry> {
  const archive = entry.manifest.archives[0]!;
  const file = path.join(entry.dir, archive.name);
  const actual = await hashFile(file).catch(() => undefined);
  if (!actual || actual.sha256 !== archive.sha256 || actual.size !== archive.size) {
    throw new backupErrors.WorkFailedError(
      'BACKUP_CORRUPT',
      `backup ${entry.id}: ${archive.name} ${actual ? 'does not match its manifest' : 'is missing'}; nothing was restored: run opsbook backup verify and restore another backup`,
      { backupId: entry.id, file },
    );
  }
  return archive;
}

/** Copies the archive to a private temp folder on the host, runs `use`, and removes the folder. */
export async function withUploaded(
  transport: Transport,
  entry: BackupEntry,
  archive: ArchiveEntry,
  signal: AbortSignal | undefined,
  use: (remotePath: string) => Promise<void>,
): Promise<void> {
  const made = await transport.exec({
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, run on the host
    command: 'mktemp -d "${TMPDIR:-/tmp}/opsbook-restore.XXXXXXXX"',
    timeoutMs: 30_000,
    signal,
  });
  const dir = made.stdout.trim();
  if (made.exitCode !== 0 || !dir.startsWith('/')) {
    throw new backupErrors.WorkFailedError(
      'RESTORE_STAGING',
      `could not create a temporary folder on ${transport.host}: ${made.stderr.trim()}`,
      { host: transport.host },
    );
  }
  try {
    const remote = `${dir}/${archive.name}`;
    await transport.copyFile(path.join(entry.dir, archive.name), remote, {
      mode: 0o600,
      ...(signal ? { signal } : {}),
    });
    await use(remote);
  } finally {
    await transport
      .exec({ command: `rm -rf ${quoteShellArg(dir)}`, timeoutMs: 60_000 })
      .catch(() => undefined);
  }
}
