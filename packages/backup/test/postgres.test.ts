import { spawn } from 'node:child_process';
import { mkdir, open, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createLocalTransport } from '@opsbook/exec';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backupActions,
  backupPostgres,
  conninfoDbname,
  databaseTableStats,
  restorePostgres,
  verifyRepository,
} from '../src/index.js';
import { pgTarget, versionLineOf } from './test-hosts.js';

let pg: Postgres;
let temp: { dir: string; remove: () => Promise<void> };
const local = createLocalTransport({ host: 'db-1' });

const target = (database: string) => pgTarget(pg, database);
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
    // pg_dump's version read from the dump's own header, psql's from its session: the same
    // text as each tool's --version on this machine (the host), which the dump no longer runs.
    expect(backup.manifest.tools).toEqual({
      pg_dump: versionLineOf('pg_dump'),
      psql: versionLineOf('psql'),
    });
    expect(backup.manifest.tools.pg_dump).toMatch(/^pg_dump \(PostgreSQL\) \d+/);
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

  it('without table stats runs pg_dump alone, still names its version, and the dump restores', async () => {
    const repository = path.join(temp.dir, 'repo-no-stats');
    const { backup } = await backupPostgres({
      transport: local,
      repository,
      target: target('app'),
      tableStats: false,
    });
    expect(backup.manifest.tools).toEqual({ pg_dump: versionLineOf('pg_dump') });
    expect(backup.manifest.tables).toBeUndefined();
    await pg.psql('CREATE DATABASE app_no_stats');
    const restored = await restorePostgres({
      transport: local,
      repository,
      backup: { id: 'latest' },
      target: target('app_no_stats'),
    });
    expect(restored.differences).toBeUndefined();
    // Nothing to compare with, but the restore still counts what it restored.
    expect(restored.tables?.map((t) => [t.name, t.rows])).toEqual([
      ['billing.invoices', 20000],
      ['public.empty_table', 0],
      ['public.users', 5000],
    ]);
  });

  it("restores into a database whose name holds = and ', as a name (pg_restore's --dbname would read a connection string)", async () => {
    const repository = path.join(temp.dir, 'repo-odd-name');
    await backupPostgres({
      transport: local,
      repository,
      target: target('app'),
      tableStats: false,
    });
    // A connection string to the `app` database itself, were it read as one.
    const name = "dbname=app o'k";
    await pg.psql(`CREATE DATABASE "${name}"`);
    const restored = await restorePostgres({
      transport: local,
      repository,
      backup: { id: 'latest' },
      target: target(name),
    });
    expect(restored.tables?.find((t) => t.name === 'public.users')?.rows).toBe(5000);
    // psql -d reads a connection string too: the test names it as the restore does.
    expect((await pg.psql('SELECT count(*) FROM public.users', conninfoDbname(name))).trim()).toBe(
      '5000',
    );
  });

  it("takes the tools' versions from the dump and psql, not from lines a table's name forges", async () => {
    // The database is the host's: a table name may hold a newline and what follows it is printed
    // as a line of its own among the stats, on the command's stderr.
    await pg.psql('CREATE DATABASE forged');
    // A name holds at most 63 bytes: one forged line a table.
    await pg.psql(
      ['pg_dump', 'psql', 'evil']
        .map(
          (tool, i) => `CREATE TABLE "t${i}\nopsbook-tool:${tool}\t${tool} 99.0 forged" (id int);`,
        )
        .join('\n'),
      'forged',
    );
    const { backup } = await backupPostgres({
      transport: local,
      repository: path.join(temp.dir, 'repo-forged'),
      target: target('forged'),
    });
    expect(backup.manifest.tools).toEqual({
      pg_dump: versionLineOf('pg_dump'),
      psql: versionLineOf('psql'),
    });
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

  it('checksums every column type by its hash or its text, so a changed value of any type is found, whatever the TimeZone', async () => {
    await pg.psql('CREATE DATABASE typed');
    await pg.psql(
      [
        'CREATE DOMAIN positive AS int CHECK (VALUE > 0);',
        "CREATE COLLATION anycase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);",
        `CREATE TABLE "odd ""name""" (id int PRIMARY KEY, "the value" numeric, f float8, at timestamptz, tags text[], doc jsonb, raw bytea, d positive, ok bool, u uuid, label text COLLATE anycase);`,
        `INSERT INTO "odd ""name""" SELECT g, g * 1.5, g / 3.0, timestamptz '2026-01-01 00:00+00' + g * interval '1 hour', ARRAY['a' || g, 'b'], jsonb_build_object('g', g), decode(md5(g::text), 'hex'), g, g % 2 = 0, md5(g::text)::uuid, 'Label ' || g FROM generate_series(1, 500) g;`,
        'CREATE TABLE nothing ();',
        'INSERT INTO nothing DEFAULT VALUES;',
      ].join('\n'),
      'typed',
    );
    const repository = path.join(temp.dir, 'repo-typed');
    const { backup } = await backupPostgres({
      transport: local,
      repository,
      target: target('typed'),
    });
    const tables = backup.manifest.tables!;
    expect(tables.map((t) => [t.name, t.rows])).toEqual([
      ['public.nothing', 1],
      ['public.odd "name"', 500],
    ]);
    for (const t of tables) expect(t.checksum).toMatch(/^rowhash:-?\d+$/);
    await pg.psql('CREATE DATABASE typed_restored');
    const restored = await restorePostgres({
      transport: local,
      repository,
      backup: { id: backup.id },
      target: target('typed_restored'),
    });
    expect(restored.differences).toEqual([]);
    // Another session TimeZone changes the text of a timestamptz, not its hash.
    const elsewhere = await databaseTableStats(
      createLocalTransport({ host: 'db-1', env: { ...process.env, PGTZ: 'Asia/Tokyo' } }),
      target('typed_restored'),
    );
    expect(elsewhere).toEqual(tables);
    const seen = new Set([tables[1]!.checksum]);
    for (const change of [
      `"the value" = 1.50 WHERE id = 1`, // was 1.5: the same number, written otherwise
      'f = f + 1e-12 WHERE id = 2',
      `at = at + interval '1 microsecond' WHERE id = 3`,
      `tags = ARRAY['b', 'a4'] WHERE id = 4`,
      `doc = '{"g": 5.0}' WHERE id = 5`,
      'd = 7 WHERE id = 6',
      `label = 'label 7' WHERE id = 7`, // equal to 'Label 7' in its collation, not the same text
    ]) {
      await pg.psql(`UPDATE "odd ""name""" SET ${change}`, 'typed_restored');
      const now = await databaseTableStats(local, target('typed_restored'));
      const checksum = now.find((t) => t.name === 'public.odd "name"')!.checksum;
      expect(seen.has(checksum), change).toBe(false);
      seen.add(checksum);
    }
  });

  it('compares an older backup, whose table checksums are md5 sums, with md5 sums', async () => {
    const repository = path.join(temp.dir, 'repo-md5');
    const { backup } = await backupPostgres({
      transport: local,
      repository,
      target: target('app'),
    });
    // A manifest as backups taken before rowhash have it: plain md5 sums.
    const md5 = await databaseTableStats(local, target('app'), { checksum: 'md5' });
    for (const t of md5) expect(t.checksum).toMatch(/^\d+$/);
    const file = path.join(backup.dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(file, 'utf8'));
    manifest.tables = md5;
    await writeFile(file, JSON.stringify(manifest, null, 2));
    await pg.psql('CREATE DATABASE app_from_md5');
    const restored = await restorePostgres({
      transport: local,
      repository,
      backup: { id: backup.id },
      target: target('app_from_md5'),
    });
    expect(restored.differences).toEqual([]);
    expect(restored.tables).toEqual(md5);
    await pg.psql('UPDATE billing.invoices SET note = $$changed$$ WHERE id = 7', 'app_from_md5');
    const action = await backupActions.get('backup.compare')!.run({
      transport: local,
      host: 'db-1',
      with: {
        expect: 'backup',
        backup: backup.id,
        database: 'app_from_md5',
        dbHost: pg.host,
        dbPort: pg.port,
        dbUser: pg.user,
        passwordParam: 'pw',
      },
      repository,
      runId: 'run-md5',
      secrets: { pw: pg.password },
      signal: new AbortController().signal,
    });
    expect(action).toMatchObject({
      ok: false,
      data: { differences: [{ table: 'billing.invoices', problem: 'checksum' }] },
    });
    const [difference] = (action.data as { differences: Array<{ expected: string }> }).differences;
    expect(difference!.expected).toMatch(/^\d+$/);
  });

  it('a psql that cannot count the restored tables (it ended at once, or is missing) is DATABASE_STATS_FAILED after a whole restore', async () => {
    const repository = path.join(temp.dir, 'repo-stats-fail');
    await backupPostgres({ transport: local, repository, target: target('app') });
    for (const psql of ['ends-at-once', 'missing'] as const) {
      const bin = path.join(temp.dir, `bin-psql-${psql}`);
      await mkdir(bin);
      for (const tool of ['sh', 'mktemp', 'mkfifo', 'rm', 'pg_restore'])
        await symlink(`/usr/bin/${tool}`, path.join(bin, tool));
      // It never reads the FIFO the script writes its SQL into: the write must fail, not kill sh.
      if (psql === 'ends-at-once')
        await writeFile(path.join(bin, 'psql'), '#!/bin/sh\necho "psql: no login" >&2\nexit 2\n', {
          mode: 0o755,
        });
      const database = `stats_fail_${psql.replaceAll('-', '_')}`;
      await pg.psql(`CREATE DATABASE ${database}`);
      const host = createLocalTransport({ host: 'db-1', env: { ...process.env, PATH: bin } });
      await expect(
        restorePostgres({
          transport: host,
          repository,
          backup: { id: 'latest' },
          target: target(database),
        }),
      ).rejects.toMatchObject({
        code: 'DATABASE_STATS_FAILED',
        message: expect.stringMatching(
          psql === 'missing'
            ? /^restored .*could not count its tables/
            : /could not count its tables: psql: no login/,
        ),
      });
      // pg_restore committed: the data is there, only the count failed.
      expect((await pg.psql('SELECT count(*) FROM public.users', database)).trim()).toBe('5000');
    }
  });

  it('names a missing pg_dump or psql, found by the dump command itself, and keeps nothing', async () => {
    const repository = path.join(temp.dir, 'repo-tools');
    // All the dump command needs besides them: no sed, sleep or head any more.
    const tools = ['sh', 'mktemp', 'mkfifo', 'rm', 'cat', 'pg_dump', 'psql'];
    for (const [missing, code] of [
      ['pg_dump', 'BACKUP_PG_DUMP_MISSING'],
      ['psql', 'BACKUP_PSQL_MISSING'],
    ] as const) {
      const bin = path.join(temp.dir, `bin-without-${missing}`);
      await mkdir(bin);
      for (const tool of tools.filter((t) => t !== missing))
        await symlink(`/usr/bin/${tool}`, path.join(bin, tool));
      const host = createLocalTransport({ host: 'db-1', env: { ...process.env, PATH: bin } });
      await expect(
        backupPostgres({ transport: host, repository, target: target('app') }),
      ).rejects.toMatchObject({ code, message: expect.stringContaining(`has no ${missing}`) });
    }
    expect(await readdir(path.join(repository, 'backups'))).toEqual([]);
    expect(await readdir(path.join(repository, 'staging'))).toEqual([]);
  });

  it('never puts the password on a command line, in the manifest or in the action result', async () => {
    const repository = path.join(temp.dir, 'repo-secret');
    const secret = pg.password;
    // The dump waits on a table another session holds locked, until the sampler below has seen
    // its pg_dump: a dump of this small database could otherwise end between two sweeps of /proc
    // on a loaded machine, and there would be nothing to look at.
    const holder = spawn('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'], {
      env: { ...process.env, ...pg.env('app') },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const locked = new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (d: Buffer) => d.includes('locked') && resolve());
      holder.once('exit', (code) => reject(new Error(`the locking psql exited ${code}`)));
    });
    holder.stdin.write(
      "BEGIN; LOCK TABLE billing.invoices IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n",
    );
    await locked;
    const seen: string[] = [];
    // Sample every command line on the machine (the locking psql's aside) while the dump runs.
    let sampling = true;
    const sampler = (async () => {
      for (let i = 0; i < 2_000 && sampling; i++) {
        for (const pid of await readdir('/proc').catch(() => [] as string[])) {
          if (!/^\d+$/.test(pid) || Number(pid) === holder.pid) continue;
          const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
          if (cmd.includes('pg_dump') || cmd.includes('psql')) seen.push(cmd);
        }
        if (seen.some((cmd) => cmd.includes('pg_dump')) && holder.stdin.writable)
          holder.stdin.end('COMMIT;\n');
        await new Promise((r) => setTimeout(r, 5));
      }
      // Never seen (the check below fails): the dump may go on, not wait forever.
      if (holder.stdin.writable) holder.stdin.end('COMMIT;\n');
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
    await new Promise((r) => (holder.exitCode === null ? holder.once('exit', r) : r(null)));
    expect(result.ok).toBe(true);
    expect(seen.some((cmd) => cmd.includes('pg_dump'))).toBe(true);
    expect(seen.join('\n')).not.toContain(secret);
    expect(JSON.stringify(result)).not.toContain(secret);
    const manifest = await readFile(
      path.join(repository, 'backups', String(result.data.backupId), 'manifest.json'),
      'utf8',
    );
    expect(manifest).not.toContain(secret);
  });
});
