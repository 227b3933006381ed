import type { TableStat } from './manifest.js';

/**
 * psql input that prints one line `opsbook-table:<schema.table>|<rows>|<checksum>` per ordinary
 * table. The checksum is the sum of the first 60 bits of md5(row as text) over all rows, so it
 * does not depend on row order (a restore loads rows in another physical order) while any changed,
 * missing or extra row changes it. `\gexec` runs the generated statement for every table.
 */
export const TABLE_STATS_SQL = [
  "SELECT format('SELECT %L || ''|'' || count(*) || ''|'' || coalesce(sum((''x'' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0) FROM %s AS t',",
  "  'opsbook-table:' || n.nspname || '.' || c.relname, c.oid::regclass)",
  'FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace',
  "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'",
  'ORDER BY n.nspname, c.relname',
  '\\gexec',
].join('\n');

const MARK = 'opsbook-table:';

/** Reads the lines printed by TABLE_STATS_SQL out of any text (other lines are ignored). */
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
