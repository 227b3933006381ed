import type { TableStat } from './manifest.js';

/**
 * psql as every stats command runs it: no ~/.psqlrc, quiet, unaligned rows without headers,
 * stopping at the first error, never asking for a password.
 */
export const PSQL_BATCH = 'psql -X -q -A -t -v ON_ERROR_STOP=1 --no-password';

/**
 * How a table's rows are summed into its checksum. Both are order-free sums over the rows (a
 * restore loads rows in another physical order) that any changed, missing or extra row changes:
 *
 * - `md5`: the first 60 bits of md5(row as text). Backups taken before `rowhash` carry these
 *   (a plain number), and are compared with them.
 * - `rowhash` (`rowhash:<sum>`): PostgreSQL's 64-bit hash of the row (`hash_record_extended`),
 *   each column hashed by its type when the type's hash is its identity (integers, text, bytea,
 *   bool, date, time, timestamp(tz), uuid, inet, macaddr; text only in a deterministic
 *   collation), every other column (numeric, floats, jsonb, arrays, domains, …) hashed as its
 *   text, since their hash ignores what their equality ignores (1.5 = 1.50, {"g": 5} = {"g": 5.0}). About four times cheaper for the server than
 *   md5 of the row's text, which is what made a backup with stats cost twice a bare pg_dump
 *   (issue #18); and free of the session's TimeZone. A server older than 14 (no
 *   hash_record_extended) gets `md5`.
 */
export type TableChecksum = 'md5' | 'rowhash';

const ROWHASH = 'rowhash:';

/** Types whose hash equals their identity: hashed as they are; any other column as its text. */
const HASHED_AS_IS = [
  'bool',
  '"char"',
  'name',
  'int2',
  'int4',
  'int8',
  'oid',
  'text',
  'varchar',
  'bytea',
  'date',
  'time',
  'timestamp',
  'timestamptz',
  'uuid',
  'inet',
  'macaddr',
];

const MD5_STATEMENT =
  "format('SELECT %L || ''|'' || count(*) || ''|'' || coalesce(sum((''x'' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0) FROM %s AS t', 'opsbook-table:' || n.nspname || '.' || c.relname, c.oid::regclass)";

const ROWHASH_STATEMENT = [
  `format('SELECT %L || ''|'' || count(*) || ''|${ROWHASH}'' || coalesce(sum(hash_record_extended(ROW(%s), 0)), 0) FROM %s AS t', 'opsbook-table:' || n.nspname || '.' || c.relname,`,
  '  coalesce((SELECT string_agg(format(CASE WHEN a.atttypid = ANY (ARRAY[' +
    HASHED_AS_IS.map((t) => `'${t}'`).join(', ') +
    ']::regtype[])',
  '    AND (a.attcollation = 0 OR (SELECT l.collisdeterministic FROM pg_collation l WHERE l.oid = a.attcollation))',
  `    THEN 't.%I' ELSE 't.%I::text COLLATE "C"' END, a.attname), ', ' ORDER BY a.attnum)`,
  "    FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), ''),",
  '  c.oid::regclass)',
].join('\n');

/**
 * psql input that prints one line `opsbook-table:<schema.table>|<rows>|<checksum>` per ordinary
 * table; `\gexec` runs the generated statement for every table.
 */
export function tableStatsSql(checksum: TableChecksum): string {
  const statement =
    checksum === 'md5'
      ? MD5_STATEMENT
      : `CASE WHEN current_setting('server_version_num')::int >= 140000 THEN ${ROWHASH_STATEMENT} ELSE ${MD5_STATEMENT} END`;
  return [
    `SELECT ${statement}`,
    'FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace',
    "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'",
    'ORDER BY n.nspname, c.relname',
    '\\gexec',
  ].join('\n');
}

/** The checksum the stats of a backup were taken with (`md5` for those without `rowhash:`). */
export function checksumOf(tables: readonly TableStat[] | undefined): TableChecksum {
  return tables?.some((t) => t.checksum.startsWith(ROWHASH)) ? 'rowhash' : 'md5';
}

const MARK = 'opsbook-table:';

/** Reads the lines printed by tableStatsSql out of any text (other lines are ignored). */
export function parseTableStats(text: string): TableStat[] {
  const stats: TableStat[] = [];
  for (const line of text.split('\n')) {
    const at = line.indexOf(MARK);
    if (at < 0) continue;
    const fields = line
      .slice(at + MARK.length)
      .trim()
      .split('|');
    const checksum = fields.pop();
    const rows = Number(fields.pop());
    const name = fields.join('|');
    if (checksum === undefined || !Number.isSafeInteger(rows) || !name) continue;
    stats.push({ name, rows, checksum });
  }
  return stats.sort((a, b) => a.name.localeCompare(b.name));
}

export interface TableDifference {
  table: string;
  problem: 'missing' | 'extra' | 'rows' | 'checksum';
  expected?: string;
  actual?: string;
}

/** Differences between the tables a backup recorded and the tables a database holds now. */
export function compareTableStats(expected: TableStat[], actual: TableStat[]): TableDifference[] {
  const found = new Map(actual.map((t) => [t.name, t]));
  const differences: TableDifference[] = [];
  for (const want of expected) {
    const got = found.get(want.name);
    found.delete(want.name);
    if (!got) differences.push({ table: want.name, problem: 'missing' });
    else if (got.rows !== want.rows)
      differences.push({
        table: want.name,
        problem: 'rows',
        expected: String(want.rows),
        actual: String(got.rows),
      });
    else if (got.checksum !== want.checksum)
      differences.push({
        table: want.name,
        problem: 'checksum',
        expected: want.checksum,
        actual: got.checksum,
      });
  }
  for (const extra of found.keys()) differences.push({ table: extra, problem: 'extra' });
  return differences;
}
