import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { createLocalTransport } from '@opsbook/exec';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backupActions,
  backupPostgres,
  databaseTableStats,
  restorePostgres,
  verifyRepository,
} from '../src/index.js';

let pg: Postgres;
let temp: { dir: string; remove: () => Promise<void> };
const local = createLocalTransport({ host: 'db-1' });

const target = (database: string) => ({
  database,
  host: pg.host,
  port: pg.port,
  user: pg.user,
  password: pg.password,
});

beforeAll(async () => {
  pg = await startPostgres();
  temp = await makeTempDir('opsbook-backup-pg-');
  await pg.psql('CREATE DATABASE app');
  await pg.psql(
    [
      'CREATE SCHEMA billing;',
      'CREATE TABLE public.users (id serial PRIMARY KEY, name text NOT NULL, score double precision, meta jsonb);',
      "INSERT INTO public.users (name, score, meta) SELECT 'user ' || g, g / 7.0, jsonb_build_object('g', g, 'tag', repeat('é', g % 5)) FROM generate_series(1, 5000) g;",
      'CREATE TABLE billing.invoices (id bigint PRIMARY KEY, user_id int REFERENCES public.users(id), amount numeric(12,2), note text);',
      "INSERT INTO billing.invoices SELECT g, 1 + g % 5000, g * 1.25, CASE WHEN g % 3 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(1, 20000) g;",
      'CREATE TABLE public.empty_table (x int);',
    ].join('\n'),
    'app',
  );
});
afterAll(async () => {
  await pg?.dispose();
  await temp?.remove();
});

describe('PostgreSQL backups against a real server', () => {
  it('dumps with pg_dump -Fc, records every table in the dump snapshot, and restores into a fresh database with equal row counts and checksums', async () => {
    const repository = path.join(temp.dir, 'repo-restore');
    const { backup } = await backupPostgres({
      transport: local,
      repository,
      target: target('app'),
      runId: 'run-1',
    });
    expect(backup.manifest.kind).toBe('postgres');
    expect(backup.manifest.runId).toBe('run-1');
    expect(backup.manifest.tools.pg_dump).toMatch(/pg_dump \(PostgreSQL\) \d+/);
    const source = await databaseTableStats(local, target('app'));
    expect(source.map((t) => [t.name, t.rows])).toEqual([
      ['billing.invoices', 20000],
      ['public.empty_table', 0],
      ['public.users', 5000],
    ]);
    expect(backup.manifest.tables).toEqual(source);

    await pg.psql('CREATE DATABASE app_restored');
    const restored = await restorePostgres({
      transport: local,
      repository,
      backup: { id: 'latest' },
      target: target('app_restored'),
    });
    expect(restored.differences).toEqual([]);
    const after = await databaseTableStats(local, target('app_restored'));
    expect(after).toEqual(source);
    expect(await pg.psql('SELECT sum(amount) FROM billing.invoices', 'app_restored')).toBe(
      await pg.psql('SELECT sum(amount) FROM billing.invoices', 'app'),
    );
  });

  it('verify passes, then fails naming the dump after one byte of it is flipped', async () => {
    const repository = path.join(temp.dir, 'repo-corrupt');
    const { backup } = await backupPostgres({
      transport: local,
      repository,
      target: target('app'),
    });
    const ok = await verifyRepository(repository);
    expect(ok.ok).toBe(true);
    const file = path.join(backup.dir, 'database.dump');
    const handle = await open(file, 'r+');
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, 1000);
    byte[0] = byte[0]! ^ 0x01;
    await handle.write(byte, 0, 1, 1000);
    await handle.close();
    const bad = await verifyRepository(repository);
    expect(bad.ok).toBe(false);
    expect(bad.backups[0]!.problems).toEqual([
      expect.objectContaining({ file: `backups/${backup.id}/database.dump`, kind: 'altered' }),
    ]);
    await expect(
      restorePostgres({
        transport: local,
        repository,
        backup: { id: backup.id },
        target: target('app'),
      }),
    ).rejects.toMatchObject({ code: 'BACKUP_CORRUPT' });
  });

  it('reports a truncated and a missing dump by name', async () => {
    const repository = path.join(temp.dir, 'repo-truncate');
    const one = await backupPostgres({ transport: local, repository, target: target('app') });
    const two = await backupPostgres({ transport: local, repository, target: target('app') });
    const { truncate, rm } = await import('node:fs/promises');
    await truncate(path.join(one.backup.dir, 'database.dump'), 100);
    await rm(path.join(two.backup.dir, 'database.dump'));
    const report = await verifyRepository(repository);
    const problems = report.backups.flatMap((b) => b.problems.map((p) => [p.file, p.kind]));
    expect(problems).toEqual(
      expect.arrayContaining([
        [`backups/${one.backup.id}/database.dump`, 'truncated'],
        [`backups/${two.backup.id}/database.dump`, 'missing'],
      ]),
    );
  });

  it('fails with the server message for a wrong password and keeps nothing', async () => {
    const repository = path.join(temp.dir, 'repo-denied');
    await expect(
      backupPostgres({
        transport: local,
        repository,
        target: { ...target('app'), password: 'wrong-password' },
      }),
    ).rejects.toMatchObject({
      code: 'BACKUP_PG_DUMP_FAILED',
      message: expect.stringMatching(/password authentication failed/),
    });
    expect(await readdir(path.join(repository, 'backups'))).toEqual([]);
    expect(await readdir(path.join(repository, 'staging'))).toEqual([]);
  });

  it('never puts the password on a command line, in the manifest or in the action result', async () => {
    const repository = path.join(temp.dir, 'repo-secret');
    const secret = pg.password;
    const seen: string[] = [];
    // Sample every command line on the machine while the dump runs.
    let sampling = true;
    const sampler = (async () => {
      for (let i = 0; i < 10_000 && sampling; i++) {
        for (const pid of await readdir('/proc').catch(() => [] as string[])) {
          if (!/^\d+$/.test(pid)) continue;
          const { readFile } = await import('node:fs/promises');
          const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
          if (cmd.includes('pg_dump') || cmd.includes('psql')) seen.push(cmd);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const action = backupActions.get('backup.postgres')!;
    const result = await action.run({
      transport: local,
      host: 'db-1',
      with: {
        database: 'app',
        dbHost: pg.host,
        dbPort: pg.port,
        dbUser: pg.user,
        passwordParam: 'db_password',
      },
      repository,
      runId: 'run-secret',
      secrets: { db_password: secret },
      signal: new AbortController().signal,
    });
    sampling = false;
    await sampler;
    expect(result.ok).toBe(true);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.join('\n')).not.toContain(secret);
    expect(JSON.stringify(result)).not.toContain(secret);
    const { readFile } = await import('node:fs/promises');
    const manifest = await readFile(
      path.join(repository, 'backups', String(result.data.backupId), 'manifest.json'),
      'utf8',
    );
    expect(manifest).not.toContain(secret);
  });
});
