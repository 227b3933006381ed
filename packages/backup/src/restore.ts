import {
  CommandCancelledError,
  type CommandEnd,
  execStream,
  killUnconfirmedText,
  type StreamExit,
  type Transport,
} from '@opsbook/exec';
import { UsageError } from '@opsbook/schema';
import { type ArchiveSource, openArchiveSource } from './archive-source.js';
import { backupErrors } from './error-codes.js';
import type { ArchiveEntry, TableStat } from './manifest.js';
import { type PostgresTarget, postgresEnv } from './postgres-backup.js';
import { type BackupEntry, findBackup, openRepository } from './repository.js';
import {
  checksumOf,
  compareTableStats,
  PSQL_BATCH,
  parseTableStats,
  type TableChecksum,
  type TableDifference,
  tableStatsSql,
} from './table-stats.js';

export interface BackupSelector {
  /** A backup id, or `latest`. */
  id: string;
  source?: string;
  host?: string;
  /** The manifest digest the approved plan bound (see BackupEntry.manifestDigest). */
  manifest?: string;
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

/**
 * Extracts a file backup into a folder of a host, streamed (see FILE_RESTORE_SCRIPT): the archive
 * is hashed while it flows into `tar -x` in a staging folder inside the target, and the staging
 * folder is published only once the whole archive arrived and matched its manifest; a damaged
 * archive is refused (BACKUP_CORRUPT) and the target is left as it was.
 */
export async function restoreFiles(request: FileRestoreRequest): Promise<RestoreOutcome> {
  checkTarget(request.targetDir);
  const entry = await pickBackup(request.repository, { ...request.backup }, 'files');
  const source = await openArchiveSource(entry, { trailer: `${COMMIT}\n` });
  const exit = await streamIntoHost(request.transport, source, {
    command: FILE_RESTORE_SCRIPT,
    env: {
      OPSBOOK_RESTORE_TARGET: request.targetDir,
      OPSBOOK_RESTORE_OVERWRITE: request.overwrite ? '1' : '0',
      OPSBOOK_RESTORE_ROOT: entry.manifest.paths?.includes('/') ? '1' : '0',
      OPSBOOK_ARCHIVE_SIZE: String(source.archive.size),
      OPSBOOK_TAR_DECOMPRESS: decompressFlag(source.archive),
    },
    sudo: request.sudo,
    signal: request.signal,
    cancelled: {
      what: `the restore of ${entry.id} into ${request.targetDir} on ${request.transport.host}`,
      notSent:
        'nothing of it was restored (the host publishes only a whole archive that matched its manifest)',
      ended: (ended) => fileRestoreEnd(ended, request),
    },
  });
  // Exits 3 and 4 come before the host read a byte: the archive's digest does not matter then.
  if (exit.exitCode === 3 || exit.exitCode === 4) throw fileRestoreFailure(entry, request, exit);
  if (exit.exitCode !== 0)
    throw (await source.corruption()) ?? fileRestoreFailure(entry, request, exit);
  return { backupId: entry.id, host: request.transport.host, target: request.targetDir };
}

const COMMIT = 'opsbook-commit';

/**
 * The host side of a file restore (fixed text; every input is an env variable). The target must
 * be absent or empty unless OVERWRITE; the archive (exactly SIZE bytes on stdin) is extracted
 * into a staging folder made inside the target, so that publishing it is rename(2) on one
 * filesystem; then one line follows: the runner sends `opsbook-commit` only when every byte it
 * sent matched the manifest's sha256. Without it (a damaged archive, a runner or a connection
 * that died, tar failing) the staging folder is removed and the target is as it was. Publishing
 * moves each entry of the staging folder into the empty target (one rename each); with OVERWRITE
 * it hard-links the staged tree over the existing one (`cp -al --remove-destination`), replacing
 * the files the backup holds as tar would. The exit codes tell the runner what happened.
 */
const FILE_RESTORE_SCRIPT = `t=$OPSBOOK_RESTORE_TARGET
if [ "$OPSBOOK_RESTORE_OVERWRITE" != 1 ] && [ -n "$(ls -A "$t" 2>/dev/null)" ]; then
  printf '%s holds %s\n' "$t" "$(ls -A "$t" | head -n 3 | tr '\n' ' ')" >&2
  exit 3
fi
mkdir -p "$t" && s=$(mktemp -d "$t/.opsbook-restore.XXXXXXXX") || exit 4
f=
trap 'rm -rf "$s" "$f"' EXIT
# Exactly the archive's bytes, no more: GNU dd in 1 MiB reads (head -c reads 8 KiB at a time).
if dd --version 2>/dev/null | grep -q coreutils; then
  take() { dd bs=1M iflag=fullblock,count_bytes count="$1" status=none; }
else
  take() { head -c "$1"; }
fi
take "$OPSBOOK_ARCHIVE_SIZE" | tar -C "$s" --extract --file=- $OPSBOOK_TAR_DECOMPRESS || exit 5
IFS= read -r v || v=
[ "$v" = ${COMMIT} ] || exit 6
cd "$s" || exit 7
# A backup of / holds "./": its mode, owner and mtime are the target's own, set once it is full.
if [ "$OPSBOOK_RESTORE_ROOT" = 1 ]; then m=$(stat -c '%a %u:%g' .) && f=$(mktemp) && touch -r . "$f" || exit 7; fi
for e in * .[!.]* ..?*; do
  [ -e "$e" ] || [ -L "$e" ] || continue
  if [ "$OPSBOOK_RESTORE_OVERWRITE" = 1 ]; then cp -a --link --remove-destination -- "$e" "$t/" || exit 7
  else mv -- "$e" "$t/" || exit 7; fi
done
cd / && rm -rf "$s" || exit 7
if [ "$OPSBOOK_RESTORE_ROOT" = 1 ]; then
  chmod "\${m% *}" "$t" && chown "\${m#* }" "$t" && touch -r "$f" "$t" && rm -f "$f" || exit 7
fi`;

/**
 * What became of a file restore cancelled after its whole archive was sent, from the exit status
 * its host reported while the kill was awaited (exit codes of FILE_RESTORE_SCRIPT): none reported
 * (a host not answering), or a signal, leaves it unknown.
 */
function fileRestoreEnd(ended: CommandEnd | undefined, request: FileRestoreRequest): RestoreEnd {
  const where = `${request.targetDir} on ${request.transport.host}`;
  const code = ended?.signal ? null : (ended?.exitCode ?? null);
  if (code === 0)
    return {
      restore: 'completed',
      text: `the restore completed before the kill reached it (its command exited 0): ${where} holds the backup`,
    };
  if (code !== null && code >= 3 && code <= 6)
    return {
      restore: 'failed',
      text: `the restore failed (its command exited ${code}): nothing of it was restored, ${where} is as it was`,
    };
  if (code === 7)
    return {
      restore: 'failed',
      text: `the restore failed while it moved the backup into its target (its command exited 7): ${where} may hold part of the backup${request.overwrite ? ' over its old files' : ''}: look at it before restoring again`,
    };
  return {
    restore: 'unknown',
    text: `the restore's outcome is unknown (${endedText(ended)}): it may have completed, or stopped part-way with part of the backup in ${request.targetDir}${request.overwrite ? ' over its old files' : ''}: look at ${where} before restoring again`,
  };
}

/** As fileRestoreEnd, for a PostgreSQL restore (exit codes of restoreThenCount). */
function postgresRestoreEnd(
  ended: CommandEnd | undefined,
  request: PostgresRestoreRequest,
): RestoreEnd {
  const where = `${request.target.database} on ${request.transport.host}`;
  const code = ended?.signal ? null : (ended?.exitCode ?? null);
  if (code === 0 || code === 4)
    return {
      restore: 'completed',
      text: `the restore completed before the kill reached it (pg_restore committed it; its command exited ${code}): look at ${where}${code === 4 ? ': its tables were not counted' : ''}`,
    };
  if (code === 3 || code === 70)
    return {
      restore: 'failed',
      text: `the restore failed (its command exited ${code}): pg_restore committed nothing of it (one transaction), ${where} is as it was`,
    };
  return {
    restore: 'unknown',
    text: `the restore's outcome is unknown (${endedText(ended)}): pg_restore may have committed it (one transaction: all of it or nothing): look at ${where} before restoring again`,
  };
}

/** How a cancelled restore's command ended, in words, when that leaves its outcome unknown. */
function endedText(ended: CommandEnd | undefined): string {
  if (!ended) return 'its host reported no exit status';
  return ended.signal
    ? `its command was ended by ${ended.signal}`
    : `its command exited ${ended.exitCode}`;
}

function fileRestoreFailure(
  entry: BackupEntry,
  request: FileRestoreRequest,
  exit: StreamExit,
): Error {
  const host = request.transport.host;
  const facts = { backupId: entry.id, host, exitCode: exit.exitCode };
  const said = lastLines(exit.stderr);
  const where = `${request.targetDir} on ${host}`;
  switch (exit.exitCode) {
    case 3:
      return new backupErrors.WorkFailedError(
        'RESTORE_TARGET_NOT_EMPTY',
        `restoring ${entry.id}: ${said}: choose an empty folder or set overwrite; nothing was restored`,
        facts,
      );
    case 4:
      return new backupErrors.WorkFailedError(
        'RESTORE_STAGING',
        `restoring ${entry.id}: could not make ${where} or a staging folder in it: ${said}`,
        facts,
      );
    case 7:
      return new backupErrors.WorkFailedError(
        'RESTORE_FAILED',
        `restoring ${entry.id}: the archive was verified and extracted, but moving it into ${where} failed: ${said}; ${request.overwrite ? 'the target may hold part of the backup over its old files' : 'the target may hold part of the backup'}: look at it before restoring again`,
        facts,
      );
    default:
      return new backupErrors.WorkFailedError(
        'RESTORE_FAILED',
        `restoring ${entry.id} into ${where} failed (${exit.signal ?? `exit ${exit.exitCode}`}${exit.exitCode === 6 ? ': the archive did not arrive whole' : ''}): ${said}; nothing was restored`,
        facts,
      );
  }
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
 * Restores a dump into an existing database, streamed into `pg_restore --single-transaction`
 * (no copy on the host) while the runner hashes it: the end of the dump is sent only when the
 * dump matches its manifest, so pg_restore commits nothing of a damaged one (BACKUP_CORRUPT). In
 * the same command every table is then counted and checksummed, and compared with the stats
 * recorded at backup time (`differences`).
 */
/** `dbname='…'`: a libpq connection string naming the database, quoted as libpq reads it. */
export function conninfoDbname(name: string): string {
  return `dbname='${name.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

export async function restorePostgres(request: PostgresRestoreRequest): Promise<RestoreOutcome> {
  const entry = await pickBackup(request.repository, request.backup, 'postgres');
  const source = await openArchiveSource(entry);
  const flags = [
    '--no-password',
    '--exit-on-error',
    '--single-transaction',
    '--no-owner',
    ...(request.clean ? ['--clean', '--if-exists'] : []),
  ];
  const stdout: Buffer[] = [];
  const exit = await streamIntoHost(request.transport, source, {
    // pg_restore reads --dbname as a connection string when it holds an = or starts with
    // postgres://, where psql and pg_dump read $PGDATABASE as a name: given as dbname='…', the
    // name is only a name, and the restore goes where the table counts and the backup looked.
    command: restoreThenCount(`pg_restore ${flags.join(' ')} --dbname="$OPSBOOK_RESTORE_DBNAME"`),
    env: {
      ...postgresEnv(request.target),
      OPSBOOK_RESTORE_DBNAME: conninfoDbname(request.target.database),
      // Counted as the backup's stats were, so old backups (md5) still compare.
      OPSBOOK_TABLE_STATS_SQL: tableStatsSql(checksumOf(entry.manifest.tables)),
    },
    sudo: request.sudo,
    signal: request.signal,
    stdout,
    cancelled: {
      what: `the restore of ${entry.id} into ${request.target.database} on ${request.transport.host}`,
      notSent:
        'nothing of it was restored (pg_restore commits nothing of a dump that did not arrive whole: one transaction)',
      ended: (ended) => postgresRestoreEnd(ended, request),
    },
  });
  const host = request.transport.host;
  if (exit.exitCode !== 0) {
    const corrupt = await source.corruption();
    if (corrupt) throw corrupt;
    const restored = exit.exitCode === 4;
    throw new backupErrors.WorkFailedError(
      restored ? 'DATABASE_STATS_FAILED' : 'RESTORE_FAILED',
      restored
        ? `restored ${entry.id} into ${request.target.database} on ${host}, but could not count its tables: ${lastLines(exit.stderr)}`
        : `pg_restore of ${entry.id} into ${request.target.database} on ${host} failed (${exit.signal ?? `exit ${exit.exitCode}`}): ${lastLines(exit.stderr)}; nothing was restored (one transaction)`,
      { backupId: entry.id, host, database: request.target.database },
    );
  }
  const tables = parseTableStats(Buffer.concat(stdout).toString('utf8'));
  const differences = entry.manifest.tables
    ? compareTableStats(entry.manifest.tables, tables)
    : undefined;
  return {
    backupId: entry.id,
    host,
    target: request.target.database,
    tables,
    ...(differences ? { differences } : {}),
  };
}

const TABLE_STATS_COMMAND = `printf "%s\\n" "$OPSBOOK_TABLE_STATS_SQL" | ${PSQL_BATCH}`;

/**
 * `pg_restore` (exit 3 when it fails), then every table counted by psql (exit 4 when that fails).
 * psql starts with the restore, reading its SQL from a FIFO that is written only once pg_restore
 * has committed: its start and login (~50 ms through Debian's pg_wrapper, plus the connection) are
 * not waited for after the restore. Without fd 7 pg_restore cannot hold psql's input open; a psql
 * that has already ended (it could not log in) makes the write fail instead of killing the shell.
 */
function restoreThenCount(pgRestore: string): string {
  return `d=$(mktemp -d) || exit 70
trap 'rm -rf "$d"' EXIT
mkfifo "$d/q" || exit 70
${PSQL_BATCH} <"$d/q" &
p=$!
exec 7>"$d/q"
${pgRestore} 7>&- || { exec 7>&-; wait "$p"; exit 3; }
(trap '' PIPE; printf '%s\\n' "$OPSBOOK_TABLE_STATS_SQL" >&7) 2>/dev/null
exec 7>&-
wait "$p" || exit 4`;
}

/**
 * Row count and checksum of every table of a database (see tableStatsSql); `checksum` as the
 * backup to compare with was taken (`checksumOf(manifest.tables)`), default `rowhash`.
 */
export async function databaseTableStats(
  transport: Transport,
  target: PostgresTarget,
  options: {
    sudo?: boolean | undefined;
    signal?: AbortSignal | undefined;
    checksum?: TableChecksum | undefined;
  } = {},
): Promise<TableStat[]> {
  const result = await transport.exec({
    command: TABLE_STATS_COMMAND,
    env: {
      ...postgresEnv(target),
      OPSBOOK_TABLE_STATS_SQL: tableStatsSql(options.checksum ?? 'rowhash'),
    },
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

/**
 * Streams an archive source into a host command's stdin (see archive-source.ts) and waits for
 * the command; its stdout is kept in `stdout` when given (a few lines: table stats), else dropped.
 * Cancelled (its signal), it fails with a CommandCancelledError saying what became of the work:
 * `cancelled` words it from whether the whole archive, its end included, had gone to the host
 * (only then can the host have applied any of it); and whether the host confirmed the kill.
 */
export async function streamIntoHost(
  transport: Transport,
  source: ArchiveSource,
  request: {
    command: string;
    env: Record<string, string>;
    sudo?: boolean | undefined;
    signal?: AbortSignal | undefined;
    stdout?: Buffer[];
    /** What the restore is (`the restore of <id> into <target> on <host>`), and its outcome. */
    cancelled?: CancelledRestoreWords;
  },
): Promise<StreamExit> {
  const run = execStream(transport, {
    command: request.command,
    env: request.env,
    sudo: request.sudo,
    signal: request.signal,
    stdin: source.stream,
    maxCapturedBytes: 4 * 1024 * 1024,
  });
  run.stdout.on('data', (chunk: Buffer) => request.stdout?.push(chunk));
  run.stdout.on('error', () => {}); // `done` carries the failure
  try {
    return await run.done;
  } catch (e) {
    if (e instanceof CommandCancelledError && request.cancelled)
      throw cancelledRestore(e, source, request.cancelled);
    throw source.unreadable() ?? e;
  }
}

/** What a cancelled restore says of itself. */
interface CancelledRestoreWords {
  /** `the restore of <id> into <target> on <host>` */
  what: string;
  /** Its outcome when the archive had not all been sent: nothing of it can have been applied. */
  notSent: string;
  /** Its outcome once the whole archive was sent, from the exit status the host reported. */
  ended: (ended: CommandEnd | undefined) => RestoreEnd;
}

/** What became of a restore cancelled after its whole archive was sent. */
interface RestoreEnd {
  restore: 'completed' | 'failed' | 'unknown';
  text: string;
}

/**
 * A restore cancelled by its signal (a second Ctrl-C): what became of it, and of the kill. Its
 * `restore` says `not-restored` when the archive had not all gone (nothing can have been applied),
 * else what the exit status its host reported while the kill was awaited (at most
 * KILL_CONFIRM_WAIT_MS of @opsbook/exec) says: a restore with all its input may have finished on
 * its own, and its exit code is the only word of whether it completed.
 */
export class RestoreCancelledError extends CommandCancelledError {
  constructor(
    host: string,
    isKillConfirmed: boolean,
    message: string,
    readonly restore: 'not-restored' | RestoreEnd['restore'],
    ended: CommandEnd | undefined,
  ) {
    super(host, isKillConfirmed, message, ended);
  }
}

/** A restore's error once its command was cancelled: what became of it, and of the kill. */
function cancelledRestore(
  e: CommandCancelledError,
  source: ArchiveSource,
  cancelled: CancelledRestoreWords,
): RestoreCancelledError {
  // Ended: every byte of it, the end the host waits for included, went into the channel.
  const isWholeSent = source.stream.readableEnded;
  const sent = isWholeSent
    ? 'after the whole archive was sent'
    : 'before the whole archive was sent';
  const kill = e.isKillConfirmed
    ? ''
    : `; ${killUnconfirmedText(e.host)}: its command may still be running there`;
  const end = isWholeSent
    ? cancelled.ended(e.ended)
    : { restore: 'not-restored' as const, text: cancelled.notSent };
  return new RestoreCancelledError(
    e.host,
    e.isKillConfirmed,
    `${cancelled.what} was cancelled ${sent}${kill}; ${end.text}`,
    end.restore,
    e.ended,
  );
}

/** The tar flag that reads an archive of this format. */
export function decompressFlag(archive: ArchiveEntry): string {
  return archive.format === 'tar+zstd' ? '--zstd' : archive.format === 'tar+gzip' ? '--gzip' : '';
}

/**
 * What a command's stderr says, for a message: its lines naming an error (pg_restore follows
 * its `error:` line with the whole failed statement), else its last lines.
 */
export function lastLines(stderr: string, count = 3): string {
  const lines = stderr.split('\n').filter((l) => l.trim());
  const errors = lines.filter((l) => /\berror\b|\bfatal\b/i.test(l));
  return (errors.length ? errors : lines).slice(-count).join(' | ') || 'no message';
}

export function checkTarget(targetDir: string): void {
  if (!targetDir.startsWith('/') || targetDir.split('/').includes('..'))
    throw new UsageError(`restore target ${targetDir} must be an absolute folder without '..'`);
}
