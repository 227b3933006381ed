import { execStream, type Transport } from '@opsbook/exec';
import { UsageError } from '@opsbook/schema';
import { writeArchive } from './archive-writer.js';
import { backupErrors } from './error-codes.js';
import type { BackupOutcome, BackupProgress } from './file-backup.js';
import { PG_DUMP_HEADER_BYTES, type PgDumpHeader, readPgDumpHeader } from './pg-dump-header.js';
import { openRepository } from './repository.js';
import { takeStagedBackup } from './staged-backup.js';
import { PSQL_BATCH, parseTableStats, tableStatsSql } from './table-stats.js';

/** How to reach a database: libpq settings, passed to pg_dump/psql as environment variables. */
export interface PostgresTarget {
  database: string;
  /** Server host or socket folder, as libpq's PGHOST; default libpq's (the local socket). */
  host?: string;
  port?: number;
  user?: string;
  /** The password: travels in the env block on stdin, never on a command line. */
  password?: string;
  /** A .pgpass file on the machine that runs pg_dump (PGPASSFILE). */
  passFile?: string;
}

export interface PostgresBackupRequest {
  /** Where pg_dump runs: the database host's transport, or a local one (runner side). */
  transport: Transport;
  /** Inventory name recorded as the backup's host; default the transport's. */
  host?: string;
  repository: string;
  target: PostgresTarget;
  /** Record each table's row count and checksum in the dump's snapshot. Default true. */
  tableStats?: boolean;
  sudo?: boolean;
  runId?: string;
  signal?: AbortSignal | undefined;
  onProgress?: (event: BackupProgress) => void;
  now?: () => Date;
}

const TOOL_MARK = 'opsbook-tool:';
const PG_DUMP_MISSING = 81;
const PSQL_MISSING = 82;

/**
 * Runs on the host. With table stats, a psql session opens a REPEATABLE READ transaction and
 * exports its snapshot; pg_dump dumps exactly that snapshot while the same session counts and
 * checksums every table, so the stats describe the very rows in the dump. Stats are printed on
 * stderr (stdout is the dump). The script is fixed text: every input arrives as an env variable.
 *
 * psql's output is a FIFO: the snapshot's name is its first line, read as soon as psql prints it
 * (no polling), and `cat` keeps the rest (the stats) for the end. psql reports its own version from
 * the session (`:VERSION_NAME`, as `psql --version` prints it) and pg_dump's is read from the
 * dump's header (pg-dump-header.ts): no `--version` run, each of which costs ~50 ms through
 * Debian's pg_wrapper before the dump starts. `cat` is started without fd 7, psql's input, so
 * that closing it ends psql.
 */
const DUMP_WITH_STATS = `command -v pg_dump >/dev/null 2>&1 || exit ${PG_DUMP_MISSING}
command -v psql >/dev/null 2>&1 || exit ${PSQL_MISSING}
d=$(mktemp -d) || exit 70
trap 'rm -rf "$d"' EXIT
mkfifo "$d/q" "$d/o" || exit 70
${PSQL_BATCH} <"$d/q" >"$d/o" 2>"$d/err" &
p=$!
exec 7>"$d/q"
printf '%s\\n' 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;' "SELECT 'opsbook-snapshot:' || pg_export_snapshot();" >&7
exec 8<"$d/o"
IFS= read -r s <&8 || s=''
cat <&8 >"$d/out" 7>&- &
c=$!
exec 8<&-
case $s in
opsbook-snapshot:?*) s=\${s#opsbook-snapshot:} ;;
*) exec 7>&-; wait "$p"; wait "$c"; cat "$d/out" "$d/err" >&2; exit 71 ;;
esac
printf '%s\\n' "$OPSBOOK_TABLE_STATS_SQL" "\\\\echo '${TOOL_MARK}psql\\\\tpsql (PostgreSQL)' :VERSION_NAME" >&7
pg_dump --format=custom --no-password --snapshot="$s"
r=$?
printf '%s\\n' 'COMMIT;' >&7
exec 7>&-
wait "$p"
q=$?
wait "$c"
cat "$d/out" >&2
if [ "$q" -ne 0 ]; then cat "$d/err" >&2; exit 72; fi
exit "$r"`;

/** Without table stats: pg_dump alone (its version is read from the dump's header). */
const DUMP_ONLY = `command -v pg_dump >/dev/null 2>&1 || exit ${PG_DUMP_MISSING}
exec pg_dump --format=custom --no-password`;

/**
 * The tools the dump command reported on stderr: psql, from its session, the last line naming
 * it (its own `\echo` comes after the stats, whose table names are the database's and may
 * hold a line that looks like it). Nothing else is taken from stderr: pg_dump's version comes
 * from the dump's header.
 */
function toolsReported(stderr: string): Record<string, string> {
  const tools: Record<string, string> = {};
  for (const line of stderr.split('\n')) {
    if (!line.startsWith(`${TOOL_MARK}psql\t`)) continue;
    const version = line.slice(`${TOOL_MARK}psql\t`.length).trim();
    // A psql before 10 has no VERSION_NAME to name itself by.
    if (!version.endsWith(':VERSION_NAME')) tools.psql = version;
  }
  return tools;
}

/** Dumps one database with `pg_dump -Fc` into the repository. */
export async function backupPostgres(request: PostgresBackupRequest): Promise<BackupOutcome> {
  const { target } = request;
  const host = request.host ?? request.transport.host;
  const now = request.now ?? (() => new Date());
  const repo = await openRepository(request.repository, { create: true });
  const withStats = request.tableStats !== false;
  const startedAt = now();
  return takeStagedBackup(
    repo,
    {
      kind: 'postgres',
      host,
      startedAt,
      signal: request.signal,
      cancelledMessage: `the dump of ${target.database} was cancelled; nothing was kept`,
    },
    async ({ id, dir, signal, writtenBy }) => {
      const run = writtenBy(
        execStream(request.transport, {
          command: withStats ? DUMP_WITH_STATS : DUMP_ONLY,
          env: {
            ...postgresEnv(target),
            ...(withStats ? { OPSBOOK_TABLE_STATS_SQL: tableStatsSql('rowhash') } : {}),
          },
          sudo: request.sudo,
          signal,
          maxCapturedBytes: 16 * 1024 * 1024,
        }),
      );
      let header: PgDumpHeader | undefined;
      const written = writeArchive(run.stdout, {
        dir,
        name: 'database.dump',
        format: 'pg_dump-custom',
        signal,
        onProgress: (p) => request.onProgress?.({ backupId: id, ...p }),
        head: {
          bytes: PG_DUMP_HEADER_BYTES,
          receive: (bytes) => {
            header = readPgDumpHeader(bytes);
          },
        },
      });
      const [archive, exit] = await Promise.all([written, run.done]);
      const tools = toolsReported(exit.stderr);
      if (header)
        tools.pg_dump = header.pgDumpVersion ?? `pg_dump (archive format ${header.format})`;
      if (exit.exitCode === PG_DUMP_MISSING && !tools.pg_dump)
        throw new backupErrors.WorkFailedError(
          'BACKUP_PG_DUMP_MISSING',
          `${request.transport.host} has no pg_dump: install the PostgreSQL client (postgresql-client), or run the dump from the runner (where: runner)`,
          { host },
        );
      if (exit.exitCode === PSQL_MISSING && !tools.psql)
        throw new backupErrors.WorkFailedError(
          'BACKUP_PSQL_MISSING',
          `${request.transport.host} has no psql: install postgresql-client, or set tableStats: false`,
          { host },
        );
      if (exit.exitCode !== 0) {
        const stderr = exit.stderr
          .split('\n')
          .filter((l) => l.trim() && !l.includes('opsbook-table:') && !l.startsWith(TOOL_MARK));
        throw new backupErrors.WorkFailedError(
          'BACKUP_PG_DUMP_FAILED',
          `pg_dump of ${target.database} on ${request.transport.host} failed (${exit.signal ?? `exit ${exit.exitCode}`}): ${stderr.slice(-5).join(' | ') || 'no message'}; nothing was kept`,
          { host, database: target.database, stderr: stderr.slice(-20) },
        );
      }
      return {
        format: 'opsbook-backup/v1',
        id,
        kind: 'postgres',
        source: `postgres:${target.database}`,
        host,
        database: target.database,
        startedAt: startedAt.toISOString(),
        finishedAt: now().toISOString(),
        runId: request.runId ?? null,
        archives: [archive],
        tools,
        warnings: [],
        ...(withStats ? { tables: parseTableStats(exit.stderr) } : {}),
      };
    },
  );
}

/** libpq environment for a target; the password only ever travels in an env block. */
export function postgresEnv(target: PostgresTarget): Record<string, string> {
  if (!target.database) throw new UsageError('a PostgreSQL target needs a database name');
  return {
    PGDATABASE: target.database,
    ...(target.host ? { PGHOST: target.host } : {}),
    ...(target.port ? { PGPORT: String(target.port) } : {}),
    ...(target.user ? { PGUSER: target.user } : {}),
    ...(target.password ? { PGPASSWORD: target.password } : {}),
    ...(target.passFile ? { PGPASSFILE: target.passFile } : {}),
    PGCONNECT_TIMEOUT: '15',
  };
}
