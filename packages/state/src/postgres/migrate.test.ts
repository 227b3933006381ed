import { WorkFailedError } from '@opsbook/schema';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../__fixtures__/fresh-database.js';
import { migrateStateStore } from './migrate.js';
import { LATEST_VERSION, migrations } from './migrations.js';
import { postgresStore } from './postgres-store.js';

let pg: Postgres;

beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.dispose();
});

const claim = { approvalId: 'apr-1', maxRuns: 1, runId: 'r1', ticket: 'OPS-7' };

describe('migrateStateStore', () => {
  it('applies every migration once; a second migrate applies nothing', async () => {
    const { url, name } = await freshDatabase(pg, { migrated: false });
    const progress: string[] = [];
    const first = await migrateStateStore(url, { onProgress: (m) => progress.push(m) });
    expect(first).toEqual({
      applied: migrations.map(({ version, name: n }) => ({ version, name: n })),
      version: LATEST_VERSION,
      location: `postgres://postgres@127.0.0.1:${pg.port}/${name}`,
    });
    expect(progress).toEqual(migrations.map((m) => `applying ${m.version} ${m.name}`));
    const second = await migrateStateStore(url);
    expect(second).toMatchObject({ applied: [], version: LATEST_VERSION });
    expect(
      await pg.psql('select version, name from opsbook_schema_migrations order by version', name),
    ).toBe(migrations.map((m) => `${m.version}|${m.name}\n`).join(''));
  });

  it('applies each migration once when two migrates run at the same moment', async () => {
    const { url, name } = await freshDatabase(pg, { migrated: false });
    const results = await Promise.all(Array.from({ length: 4 }, () => migrateStateStore(url)));
    // Each migration takes the lock on its own, so the callers may share the list between
    // them: together they applied each one exactly once.
    const applied = results.flatMap((r) => r.applied).sort((a, b) => a.version - b.version);
    expect(applied).toEqual(migrations.map(({ version, name: n }) => ({ version, name: n })));
    expect(await pg.psql('select count(*) from opsbook_schema_migrations', name)).toBe(
      `${migrations.length}\n`,
    );
  });

  it('reads libpq PG* variables when given no url', async () => {
    const { name } = await freshDatabase(pg, { migrated: false });
    const saved = { ...process.env };
    Object.assign(process.env, pg.env(name));
    try {
      expect((await migrateStateStore(undefined)).applied).toHaveLength(migrations.length);
      const store = postgresStore({});
      expect(store.location).toBe(`postgres://postgres@127.0.0.1:${pg.port}/${name}`);
      expect(await store.claimRun(claim)).toEqual({ runsUsed: 1 });
      await store.close();
    } finally {
      for (const key of Object.keys(pg.env())) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });
});

describe('the store checks the database on first use', () => {
  it('refuses an unmigrated database with STATE_DB_NOT_MIGRATED, and works once migrated', async () => {
    const { url } = await freshDatabase(pg, { migrated: false });
    const store = postgresStore({ url });
    const error = await store.claimRun(claim).catch((e) => e);
    expect(error).toBeInstanceOf(WorkFailedError);
    expect(error.code).toBe('STATE_DB_NOT_MIGRATED');
    expect(error.message).toMatch(
      new RegExp(
        `schema version 0 and this opsbook needs ${LATEST_VERSION}: run opsbook db migrate$`,
      ),
    );
    await migrateStateStore(url);
    expect(await store.claimRun(claim)).toEqual({ runsUsed: 1 });
    await store.close();
  });

  it('refuses a database migrated by a newer opsbook with STATE_DB_TOO_NEW', async () => {
    const { url, name } = await freshDatabase(pg);
    await pg.psql(
      `insert into opsbook_schema_migrations (version, name) values (99, 'future')`,
      name,
    );
    const store = postgresStore({ url });
    await expect(store.listRuns()).rejects.toMatchObject({
      code: 'STATE_DB_TOO_NEW',
      message: expect.stringMatching(
        new RegExp(`schema version 99, newer than the ${LATEST_VERSION} this opsbook knows`),
      ),
    });
    await store.close();
    await expect(migrateStateStore(url)).rejects.toMatchObject({ code: 'STATE_DB_TOO_NEW' });
  });

  it('says STATE_DB_UNREACHABLE for a wrong password, naming the server but never the password', async () => {
    const { name } = await freshDatabase(pg);
    const secret = 'not-the-password-s3cret';
    const url = `postgres://postgres:${secret}@127.0.0.1:${pg.port}/${name}`;
    const store = postgresStore({ url });
    expect(store.location).toBe(`postgres://postgres@127.0.0.1:${pg.port}/${name}`);
    const error = await store.claimRun(claim).catch((e) => e);
    expect(error).toMatchObject({ code: 'STATE_DB_UNREACHABLE', kind: 'unreachable' });
    expect(error.message).toContain(
      `127.0.0.1:${pg.port}/${name} refused the login of user postgres`,
    );
    expect(error.message).toMatch(/PGPASSWORD, ~\/\.pgpass/);
    expect(JSON.stringify({ m: error.message, d: error.details })).not.toContain(secret);
    await store.close();
    const migrateError = await migrateStateStore(url).catch((e) => e);
    expect(migrateError.code).toBe('STATE_DB_UNREACHABLE');
    expect(migrateError.message).not.toContain(secret);
  });

  it('says STATE_DB_UNREACHABLE for an unknown database and a server that is not there', async () => {
    const auth = `postgres:${encodeURIComponent(pg.password)}`;
    const missing = postgresStore({ url: `postgres://${auth}@127.0.0.1:${pg.port}/no_such_db` });
    await expect(missing.listRuns()).rejects.toMatchObject({
      code: 'STATE_DB_UNREACHABLE',
      message: expect.stringMatching(/has no database no_such_db: create it/),
    });
    await missing.close();
    const { findFreePort } = await import('@opsbook/testkit/sshd');
    const port = await findFreePort('127.0.0.1');
    const down = postgresStore({ url: `postgres://${auth}@127.0.0.1:${port}/opsbook` });
    const error = await down.runsUsed('apr-1').catch((e) => e);
    expect(error).toMatchObject({ code: 'STATE_DB_UNREACHABLE', details: { port } });
    expect(error.message).toBe(
      `cannot reach the PostgreSQL state store at 127.0.0.1:${port}/opsbook (ECONNREFUSED): check that the server runs and that state.url in opsbook.yaml (or OPSBOOK_DATABASE_URL, or PGHOST/PGPORT) names it`,
    );
    expect(error.message).not.toContain(pg.password);
    await down.close();
  });

  it('says STATE_DB_UNREACHABLE when findings are read from a server that is not there', async () => {
    const { findFreePort } = await import('@opsbook/testkit/sshd');
    const port = await findFreePort('127.0.0.1');
    const down = postgresStore({ url: `postgres://postgres@127.0.0.1:${port}/opsbook` });
    const reading = (async () => {
      for await (const _ of down.readFindings({ since: new Date(0), until: new Date() })) {
        // nothing: the first read fails
      }
    })();
    await expect(reading).rejects.toMatchObject({
      code: 'STATE_DB_UNREACHABLE',
      kind: 'unreachable',
      details: { port },
    });
    await down.close();
  });
});
