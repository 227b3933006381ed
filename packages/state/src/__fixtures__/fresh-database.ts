import type { Postgres } from '@opsbook/testkit/postgres';
import { migrateStateStore } from '../postgres/migrate.js';

let databases = 0;

/**
 * A new empty database on the test server, and its url (with the password, as a test may put
 * it; messages must still never show it). `migrated` brings it to this opsbook's schema.
 */
export async function freshDatabase(
  pg: Postgres,
  options: { migrated?: boolean } = {},
): Promise<{ name: string; url: string }> {
  const name = `opsbook_test_${process.pid}_${++databases}`;
  await pg.psql(`create database ${name}`);
  const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${name}`;
  if (options.migrated ?? true) await migrateStateStore(url);
  return { name, url };
}
