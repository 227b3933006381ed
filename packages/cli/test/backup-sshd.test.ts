import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { createWorld, execFileAsync, type World } from './opsbook-world.js';
import { repoRoot, stackTrace } from './run-cli.js';
import { hostOf, readJournal, runApproval } from './run-outcome.js';

/*
 * Issue #17 item 13, end to end through the binary: the shipped data-backup and file-restore
 * runbooks against real sshd hosts and a real PostgreSQL on a non-default port. h1 is the host
 * backed up; h2 is the off-host copy's destination (reached through an alias of the runner's
 * ~/.ssh/config, its key checked in known_hosts) and the restore target.
 */

let world: World;
let pg: Postgres;
let srcDir = '';
let vaultDir = '';
/** The copy destination: the second sshd's address; its port, user and key from ~/.ssh/config. */
const vaultHost = () => world.hosts[1]!.host;
let fileCount = 0;

async function shipped(name: string) {
  const dir = path.join(repoRoot, 'runbooks', name);
  const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as {
    version: string;
  };
  return { yaml: await readFile(path.join(dir, 'runbook.yaml'), 'utf8'), version: pkg.version };
}

/** An approval signed by alice for `runbook` on `target`, with these params. */
async function approve(runbook: string, target: string, params: Record<string, string>) {
  fileCount += 1;
  return approvedFile(
    world,
    runbook,
    `approvals/${runbook}-${fileCount}.json`,
    [world.people.alice],
    { params, target },
  );
}

const backupParams = (extra: Record<string, string> = {}) => ({
  path: srcDir,
  database: 'app',
  db_host: pg.host,
  db_port: String(pg.port),
  copy_to: vaultHost(),
  copy_path: vaultDir,
  ...extra,
});

interface ListedBackup {
  id: string;
  kind: string;
  host: string;
  runId: string | null;
  startedAt: string;
  archives: Array<{ name: string; sha256: string }>;
  verification: { ok: boolean } | null;
}

async function listBackups(): Promise<ListedBackup[]> {
  const r = await world.opsbook(['backup', 'list', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { backups: ListedBackup[] }).backups;
}

const repository = () => path.join(world.stateDir, 'backups', 'backups');

beforeAll(async () => {
  world = await createWorld({
    hostCount: 2,
    runbooks: {
      'data-backup': await shipped('data-backup'),
      'file-restore': await shipped('file-restore'),
      'data-restore': await shipped('data-restore'),
    },
  });
  pg = await startPostgres();
  await pg.psql('CREATE DATABASE app');
  await pg.psql(
    "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 500) g;",
    'app',
  );
  // The sshd sessions' HOME: libpq reads .pgpass there when no password is given.
  await writeFile(
    path.join(world.dir, 'remote-home', '.pgpass'),
    `${pg.host}:${pg.port}:*:${pg.user}:${pg.password}\n`,
    { mode: 0o600 },
  );
  srcDir = path.join(world.dir, 'srv', 'app-data');
  await mkdir(path.join(srcDir, 'conf'), { recursive: true });
  await writeFile(path.join(srcDir, 'conf', 'app.ini'), '[app]\nport = 8080\n');
  await writeFile(path.join(srcDir, 'data.bin'), Buffer.alloc(300_000, 7));
  vaultDir = path.join(world.dir, 'vault');
  // The copy destination, as the runner's ssh config names it.
  const h2 = world.hosts[1]!;
  await writeFile(
    path.join(world.dir, 'home', '.ssh', 'config'),
    `Host ${h2.host}\n  Port ${h2.port}\n  User root\n  IdentityFile ${h2.clientKeyPath}\n`,
  );
}, 120_000);
afterAll(async () => {
  await pg?.dispose();
  await world?.remove();
});

let firstRun: { files: ListedBackup; postgres: ListedBackup } | undefined;

describe('data-backup through opsbook run', () => {
  it('dumps through db_port, with an empty db_password (.pgpass), and copies both backups to the vault, hashed there', async () => {
    const file = await approve('data-backup', 'h1', backupParams());
    // No OPSBOOK_PARAM_DB_PASSWORD at all: the runbook says empty means .pgpass.
    const r = await runApproval(world, file);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
    const h1 = hostOf(r.doc, 'h1');
    expect(h1.steps.map((s) => [s.id, s.status])).toEqual([
      ['files', 'ok'],
      ['database', 'ok'],
      ['verify', 'ok'],
      ['copy', 'ok'],
      ['retention', 'ok'],
    ]);
    const mine = (await listBackups()).filter((b) => b.runId === r.doc!.runId);
    const files = mine.find((b) => b.kind === 'files')!;
    const postgres = mine.find((b) => b.kind === 'postgres')!;
    expect(postgres).toBeDefined();
    firstRun = { files, postgres };
    // The off-host copies: laid out like a repository, byte for byte the local archives.
    for (const b of [files, postgres]) {
      const copyDir = path.join(vaultDir, 'backups', b.id);
      expect((await readdir(copyDir)).sort()).toEqual(
        [...b.archives.map((a) => a.name), 'manifest.json'].sort(),
      );
      for (const a of b.archives)
        expect(await readFile(path.join(copyDir, a.name))).toEqual(
          await readFile(path.join(repository(), b.id, a.name)),
        );
    }
    expect(await readdir(path.join(vaultDir, 'staging'))).toEqual([]);
    const journal = await readJournal(r.doc!.journal.path);
    const copyEnd = journal.find((e) => e.type === 'step-end' && e.step === 'copy');
    expect(copyEnd?.result).toMatchObject({
      ok: true,
      checks: [
        { backupId: files.id, action: 'copied', ok: true },
        { backupId: postgres.id, action: 'copied', ok: true },
      ],
    });
  });

  it('detects a corrupted off-host copy on the next run: the copy step fails naming it, the new local backups stay', async () => {
    const { files } = firstRun!;
    const archive = path.join(vaultDir, 'backups', files.id, files.archives[0]!.name);
    const bytes = await readFile(archive);
    const middle = bytes.length >> 1;
    bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
    await writeFile(archive, bytes);
    const file = await approve('data-backup', 'h1', backupParams());
    const r = await runApproval(world, file);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code).toBe(1);
    const h1 = hostOf(r.doc, 'h1');
    const copy = h1.steps.find((s) => s.id === 'copy')!;
    expect(copy.status).toBe('failed');
    expect(copy.reason).toContain(`${files.id} (${files.archives[0]!.name})`);
    expect(copy.reason).toContain('do not match the manifest');
    expect(copy.reason).toContain('the local backups are kept');
    // Retention did not run after the failed copy, and this run's backups are intact locally.
    expect(h1.steps.map((s) => s.id)).not.toContain('retention');
    const mine = (await listBackups()).filter((b) => b.runId === r.doc!.runId);
    expect(mine.map((b) => b.kind).sort()).toEqual(['files', 'postgres']);
    const verify = await world.opsbook(['backup', 'verify', ...mine.map((b) => b.id)]);
    expect(verify.code, verify.stdout).toBe(0);
    // This run's own copies were made and matched; only the old one is bad.
    for (const b of mine) expect(await readdir(path.join(vaultDir, 'backups', b.id))).toBeTruthy();
    await rm(path.join(vaultDir, 'backups', files.id), { recursive: true });
  });

  it('fails the copy step clearly when the destination cannot be reached, and keeps the local backups', async () => {
    const file = await approve('data-backup', 'h1', backupParams({ copy_to: 'root@127.0.0.9:1' }));
    const r = await runApproval(world, file);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code).toBe(1);
    const copy = hostOf(r.doc, 'h1').steps.find((s) => s.id === 'copy')!;
    expect(copy.status).toBe('error');
    expect(copy.reason).toContain('could not reach the copy destination root@127.0.0.9:1');
    expect(copy.reason).toContain('the local backups are kept');
    const mine = (await listBackups()).filter((b) => b.runId === r.doc!.runId);
    expect(mine).toHaveLength(2);
  });

  it('applies keep_daily and keep_weekly to dated backups, never removing the one this run made', async () => {
    // Dated backups of h1's folder, as earlier days' runs would have left them: real copies of a
    // real backup, with their manifest's id, dates and run id changed.
    const { files } = firstRun!;
    const now = new Date();
    const monday = new Date(
      Date.UTC(
        now.getUTCFullYear(),
        now.getUTCMonth(),
        now.getUTCDate() - ((now.getUTCDay() + 6) % 7),
      ),
    );
    const at = (daysFromMonday: number, hour = 10) =>
      new Date(monday.getTime() + daysFromMonday * 86_400_000 + hour * 3_600_000);
    const endOfToday = new Date(
      Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 23, 59, 59),
    );
    const planted = {
      lastSunday: at(-1),
      lastSaturday: at(-2),
      twoWeeksAgo: at(-8),
      twoWeeksAgoEarlier: at(-9),
      // A later backup of today (a clock ahead, another runner): the rules prefer it to this run's.
      laterToday: endOfToday,
    };
    const ids: Record<string, string> = {};
    for (const [name, date] of Object.entries(planted)) {
      const stamp = date
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z');
      const id = `${stamp}-files-h1-${name.toLowerCase()}`;
      ids[name] = id;
      const dir = path.join(repository(), id);
      await cp(path.join(repository(), files.id), dir, { recursive: true });
      await rm(path.join(dir, 'verified.json'), { force: true });
      const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
      Object.assign(manifest, {
        id,
        runId: 'planted',
        startedAt: date.toISOString(),
        finishedAt: date.toISOString(),
      });
      await writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    }
    const before = (await listBackups()).filter((b) => b.kind === 'files').map((b) => b.id);
    const file = await approve(
      'data-backup',
      'h1',
      backupParams({ copy_to: '', keep_daily: '2', keep_weekly: '2' }),
    );
    const r = await runApproval(world, file, [], { OPSBOOK_PARAM_DB_PASSWORD: '' });
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
    const journal = await readJournal(r.doc!.journal.path);
    const prune = journal.find((e) => e.type === 'step-end' && e.step === 'retention')?.result as {
      decisions: Array<{ id: string; keep: boolean; reasons: string[]; source: string }>;
    };
    const copy = journal.find((e) => e.type === 'step-end' && e.step === 'copy')?.result;
    expect(copy).toEqual({ copied: [] });
    const after = await listBackups();
    const made = after.filter((b) => b.runId === r.doc!.runId && b.kind === 'files');
    expect(made).toHaveLength(1);
    const madeId = made[0]!.id;
    const filesLeft = after.filter((b) => b.kind === 'files').map((b) => b.id);
    // Daily: today (the later backup) and the most recent other day (last Sunday); weekly: this
    // week and last week (the same two). This run's backup stays only because this run made it.
    expect(filesLeft.sort()).toEqual([ids.lastSunday!, ids.laterToday!, madeId].sort());
    const decision = (id: string) => prune.decisions.find((d) => d.id === id)!;
    expect(decision(madeId).reasons).toEqual(['made by this run']);
    expect(decision(ids.laterToday!).reasons).toEqual(
      expect.arrayContaining([expect.stringMatching(/^daily /), expect.stringMatching(/^weekly /)]),
    );
    for (const gone of ['lastSaturday', 'twoWeeksAgo', 'twoWeeksAgoEarlier'])
      expect(decision(ids[gone]!).keep).toBe(false);
    // Earlier runs' backups of the same sources, from today, are removed too.
    expect(before.filter((id) => !filesLeft.includes(id))).toContain(firstRun!.files.id);
    const postgresLeft = after.filter((b) => b.kind === 'postgres');
    expect(postgresLeft.map((b) => b.runId)).toEqual([r.doc!.runId]);
  });
});

interface HistoryBackup {
  backupId: string;
  kind: string;
  host: string;
  runId: string;
  executor?: string;
  copies: string[];
}

async function history(args: string[] = [], env?: NodeJS.ProcessEnv) {
  const r = await world.opsbook(['backup', 'list', '--json', ...args], env ? { env } : {});
  expect(r.stderr).not.toMatch(stackTrace);
  const doc = r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
  return { ...r, doc, backups: (doc?.backups ?? []) as HistoryBackup[] };
}

describe('backup list --history (issue #16 item 3: backups read from the run history)', () => {
  it('lists every backup the runs made, with its run, executor and off-host copies as last checked', async () => {
    const { files, postgres } = firstRun!;
    const r = await history(['--history']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.doc.problems).toEqual([]);
    const byId = new Map(r.backups.map((b) => [b.backupId, b]));
    // The first run's copy of the files backup was found damaged by the second run: dropped;
    // its dump's copy was re-checked and matched.
    expect(byId.get(files.id)).toMatchObject({
      kind: 'files',
      host: 'h1',
      runId: files.runId,
      copies: [],
    });
    expect(byId.get(postgres.id)).toMatchObject({
      kind: 'postgres',
      host: 'h1',
      runId: postgres.runId,
      copies: [`${vaultHost()}:${vaultDir}`],
    });
    expect(byId.get(files.id)?.executor).toMatch(/\S/);
    // Every backup a run made is listed, including those retention has since removed locally.
    const made = (await listBackups()).filter((b) => b.runId && b.runId !== 'planted');
    for (const b of made) expect(byId.get(b.id)?.runId).toBe(b.runId);
    expect(r.backups.length).toBeGreaterThan(made.length);
  });

  it('narrows by host and time, and names the options that need --history', async () => {
    expect((await history(['--history', '--host', 'h2'])).backups).toEqual([]);
    expect((await history(['--history', '--host', 'h1'])).backups.length).toBeGreaterThan(0);
    expect((await history(['--history', '--until', '2001-01-01'])).backups).toEqual([]);
    const usage = await world.opsbook(['backup', 'list', '--host', 'h1']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--host selects from the run history: add --history');
  });

  it('does not list the backups of a run whose journal was edited, and says so', async () => {
    const runId = firstRun!.files.runId!;
    const journal = path.join(world.stateDir, 'runs', `${runId}.jsonl`);
    const original = await readFile(journal, 'utf8');
    try {
      await writeFile(journal, original.replace('"status":"ok"', '"status":"OK"'));
      const r = await history(['--history']);
      expect(r.code).toBe(3);
      expect(r.doc.problems.map((p: { runId: string }) => p.runId)).toEqual([runId]);
      expect(r.backups.map((b) => b.runId)).not.toContain(runId);
      const text = await world.opsbook(['backup', 'list', '--history']);
      expect(text.stdout).toContain(`run ${runId}: journal does not verify`);
    } finally {
      await writeFile(journal, original);
    }
  });

  it('with the PostgreSQL store, lists the team history by default, and one repository when asked', async () => {
    await pg.psql('CREATE DATABASE opsbook_team');
    const env = {
      OPSBOOK_DATABASE_URL: `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/opsbook_team`,
    };
    const migrate = await world.opsbook(['db', 'migrate'], { env });
    expect(migrate.code, migrate.stderr).toBe(0);
    const r = await runApproval(world, await approve('data-backup', 'h1', backupParams()), [], env);
    expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
    const team = await history([], env);
    expect(team.code, team.stderr).toBe(0);
    expect(team.doc.store).toContain('opsbook_team');
    expect(team.backups.map((b) => [b.runId, b.kind, b.copies]).sort()).toEqual([
      [r.doc!.runId, 'files', [`${vaultHost()}:${vaultDir}`]],
      [r.doc!.runId, 'postgres', [`${vaultHost()}:${vaultDir}`]],
    ]);
    // The files store's runs are not the team's: none of them is listed.
    const local = await history(['--repository', repository().replace(/\/backups$/, '')], env);
    expect(local.code, local.stderr).toBe(0);
    expect(local.doc.repository).toBeDefined();
    expect(local.doc.backups.map((b: { runId: string }) => b.runId)).toContain(r.doc!.runId);
  });
});

let hostname = '';
beforeAll(async () => {
  hostname = (await execFileAsync('hostname')).stdout.trim();
});

/**
 * A restore is planned only of a backup a verified journal of the plan's state store shows made
 * (backupsForPlan): the backups planted above and the team store's run are not the files store's.
 * A fresh run of the files store makes the backups (and their vault copies) the restores use.
 */
async function removeBackupsNoRunMade(): Promise<void> {
  const fresh = await runApproval(world, await approve('data-backup', 'h1', backupParams()));
  expect(fresh.code, `${fresh.stderr}\n${fresh.stdout}`).toBe(0);
  const made = new Set((await history(['--history'])).backups.map((b) => b.backupId));
  for (const b of await listBackups())
    if (!made.has(b.id)) await rm(path.join(repository(), b.id), { recursive: true, force: true });
}

describe('data-restore through opsbook run', () => {
  beforeAll(removeBackupsNoRunMade);

  it('restores the latest dump of h1 into an empty database through db_port, with no db_password (.pgpass)', async () => {
    await pg.psql('CREATE DATABASE app_restored');
    const file = await approve('data-restore', 'h2', {
      backup: 'latest',
      from_host: 'h1',
      target_hostname: hostname,
      database: 'app_restored',
      db_host: pg.host,
      db_port: String(pg.port),
    });
    const r = await runApproval(world, file);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
    expect(hostOf(r.doc, 'h2').steps.map((s) => [s.id, s.status])).toEqual([
      ['right-host', 'ok'],
      ['empty-target', 'ok'],
      ['restore', 'ok'],
      ['tables-match', 'ok'],
    ]);
    expect((await pg.psql('SELECT count(*) FROM items', 'app_restored')).trim()).toBe('500');
  });
});

describe('file-restore through opsbook run', () => {
  const restoreParams = (target: string, extra: Record<string, string> = {}) => ({
    backup: 'latest',
    from_host: 'h1',
    target_hostname: hostname,
    target_dir: target,
    ...extra,
  });

  it('restores the latest file backup of h1 onto h2 and proves every file matches', async () => {
    const target = path.join(world.dir, 'restore-1');
    const file = await approve('file-restore', 'h2', restoreParams(target));
    const r = await runApproval(world, file);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
    expect(hostOf(r.doc, 'h2').steps.map((s) => [s.id, s.status])).toEqual([
      ['right-host', 'ok'],
      ['backup-intact', 'ok'],
      ['empty-target', 'ok'],
      ['restore', 'ok'],
      ['files-match', 'ok'],
    ]);
    const restored = path.join(target, srcDir);
    expect(await readFile(path.join(restored, 'conf', 'app.ini'), 'utf8')).toBe(
      '[app]\nport = 8080\n',
    );
    expect(await readFile(path.join(restored, 'data.bin'))).toEqual(Buffer.alloc(300_000, 7));
  });

  it('restores only the backup the senior approved: one whose archive and manifest were replaced after approval is refused before any host, and plan --show names it', async () => {
    const target = path.join(world.dir, 'restore-swapped');
    const file = await approve('file-restore', 'h2', restoreParams(target));
    // What the senior read: the backup's id and the digest of its manifest, in the restore step.
    const shown = await world.opsbook(['plan', '--show', file]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(
      /uses backup.restore \{"backup":"[^"]+",.*"manifest":"sha256:[0-9a-f]{64}","madeBy":"run [^"]+"\}/,
    );
    // The engineer, who owns the runner's state folder, swaps the backup's content afterwards:
    // a new archive, and a manifest whose sha256 and size match it (so backup.verify passes).
    const latest = (await listBackups())
      .filter((b) => b.kind === 'files' && b.host === 'h1')
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt))
      .at(-1)!;
    const dir = path.join(repository(), latest.id);
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
    const archive = manifest.archives[0];
    const evil = path.join(world.dir, 'evil');
    await mkdir(path.join(evil, 'etc'), { recursive: true });
    await writeFile(path.join(evil, 'etc', 'sudoers-evil'), 'ALL ALL=(ALL) NOPASSWD: ALL\n');
    const compress = { tar: '', 'tar+gzip': '--gzip', 'tar+zstd': '--zstd' }[
      archive.format as string
    ];
    expect(compress, archive.format).toBeDefined();
    const archiveFile = path.join(dir, archive.name);
    const original = {
      manifest: await readFile(path.join(dir, 'manifest.json')),
      archive: await readFile(archiveFile),
    };
    await execFileAsync('tar', [
      ...(compress ? [compress] : []),
      '-C',
      evil,
      '-cf',
      archiveFile,
      'etc',
    ]);
    const bytes = await readFile(archiveFile);
    archive.size = bytes.length;
    archive.sha256 = createHash('sha256').update(bytes).digest('hex');
    await writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const verify = await world.opsbook(['backup', 'verify', latest.id]);
    expect(verify.code, verify.stdout).toBe(0);

    const r = await runApproval(world, file);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(3);
    expect(r.stderr).toContain('PLAN_MISMATCH');
    await expect(readdir(target)).rejects.toMatchObject({ code: 'ENOENT' });
    // The backup as it was, for the tests that restore it next.
    await writeFile(archiveFile, original.archive);
    await writeFile(path.join(dir, 'manifest.json'), original.manifest);
  });

  it('refuses to plan a restore of a backup the engineer wrote into the repository (no verified run made it), and restores it only when planned as unproven, which the senior sees', async () => {
    // A "backup" of h1 forged in the runner's state folder: a cron file and a setuid shell,
    // its manifest naming a made-up run, with the archive's real sha256 and size.
    const id = '20991231T000000Z-files-h1-f0f0f0';
    const dir = path.join(repository(), id);
    const evil = path.join(world.dir, 'forged-tree');
    await mkdir(path.join(evil, 'etc', 'cron.d'), { recursive: true });
    await writeFile(path.join(evil, 'etc', 'cron.d', 'opsbook-forged'), '* * * * * root id\n');
    const real = (await listBackups()).find((b) => b.kind === 'files' && b.host === 'h1')!;
    await mkdir(dir, { recursive: true });
    const template = JSON.parse(
      await readFile(path.join(repository(), real.id, 'manifest.json'), 'utf8'),
    );
    const archive = template.archives[0];
    const compress = { tar: '', 'tar+gzip': '--gzip', 'tar+zstd': '--zstd' }[
      archive.format as string
    ];
    await execFileAsync('tar', [
      ...(compress ? [compress] : []),
      '-C',
      evil,
      '-cf',
      path.join(dir, archive.name),
      'etc',
    ]);
    const bytes = await readFile(path.join(dir, archive.name));
    const manifest = {
      ...template,
      id,
      startedAt: '2099-12-31T00:00:00.000Z',
      finishedAt: '2099-12-31T00:00:01.000Z',
      runId: '20991231-000000-forged',
      archives: [
        {
          ...archive,
          size: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
        },
      ],
    };
    await writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    try {
      expect((await listBackups()).map((b) => b.id)).toContain(id);
      const target = path.join(world.dir, 'restore-forged');
      const planned = await world.opsbook([
        'plan',
        'file-restore',
        '--ticket',
        'OPS-1',
        ...Object.entries(restoreParams(target)).flatMap(([k, v]) => ['--param', `${k}=${v}`]),
        '--target',
        'h2',
        '-o',
        path.join(world.dir, 'forged.json'),
      ]);
      expect(planned.stderr).not.toMatch(stackTrace);
      expect(planned.code, planned.stderr).toBe(2);
      expect(planned.stderr).toContain(
        `backup ${id} cannot be restored as planned: its manifest names run 20991231-000000-forged, which the state store does not have`,
      );
      // Asked for, knowing where it came from: the plan says so to the senior.
      const file = await approve(
        'file-restore',
        'h2',
        restoreParams(target, { backup: id, unproven: 'true' }),
      );
      const shown = await world.opsbook(['plan', '--show', file]);
      expect(shown.stdout).toContain(
        '"madeBy":"unproven: its manifest names run 20991231-000000-forged, which the state store does not have"',
      );
      // A backup opsbook made says which run made it.
      const proven = await approve(
        'file-restore',
        'h2',
        restoreParams(path.join(world.dir, 'restore-proven'), { backup: real.id }),
      );
      const provenShown = await world.opsbook(['plan', '--show', proven]);
      expect(provenShown.stdout).toContain(`"madeBy":"run ${real.runId}"`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a non-empty target folder before touching it (RESTORE_TARGET_NOT_EMPTY), and restores over it with overwrite=true', async () => {
    const target = path.join(world.dir, 'restore-busy');
    await mkdir(target);
    await writeFile(path.join(target, 'live.txt'), 'live data\n');
    const refused = await runApproval(
      world,
      await approve('file-restore', 'h2', restoreParams(target)),
    );
    expect(refused.code).toBe(1);
    const step = hostOf(refused.doc, 'h2').steps.find((s) => s.id === 'empty-target')!;
    expect(step.status).toBe('failed');
    expect(step.reason).toContain('RESTORE_TARGET_NOT_EMPTY');
    expect(hostOf(refused.doc, 'h2').steps.map((s) => s.id)).not.toContain('restore');
    expect(await readdir(target)).toEqual(['live.txt']);

    const forced = await runApproval(
      world,
      await approve('file-restore', 'h2', restoreParams(target, { overwrite: 'true' })),
    );
    expect(forced.code, `${forced.stderr}\n${forced.stdout}`).toBe(0);
    expect((await readdir(target)).sort()).toEqual(['live.txt', srcDir.split('/')[1]!].sort());
  });

  it('restores from the off-host copy brought back into the repository (the README procedure)', async () => {
    // The runner's disk is lost: only the vault's copies remain.
    const copies = await readdir(path.join(vaultDir, 'backups'));
    const filesCopy = copies
      .filter((id) => id.includes('-files-'))
      .sort()
      .at(-1)!;
    await rm(path.join(world.stateDir, 'backups'), { recursive: true });
    await mkdir(repository(), { recursive: true });
    await cp(path.join(vaultDir, 'backups', filesCopy), path.join(repository(), filesCopy), {
      recursive: true,
    });
    const verify = await world.opsbook(['backup', 'verify', filesCopy]);
    expect(verify.code, verify.stdout).toBe(0);
    const target = path.join(world.dir, 'restore-from-copy');
    const r = await runApproval(
      world,
      await approve('file-restore', 'h2', restoreParams(target, { backup: filesCopy })),
    );
    expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
    expect(await readFile(path.join(target, srcDir, 'data.bin'))).toEqual(Buffer.alloc(300_000, 7));
  });
});

describe('backup.copy and --accept-new-host-keys', () => {
  it('says and journals the copy destination’s host key it took as new, and its route, as for a host of the run', async () => {
    const [h1, h2] = world.hosts as [(typeof world.hosts)[0], (typeof world.hosts)[0]];
    // known_hosts knows the host backed up, never the copy destination.
    await world.writeKnownHosts([h1.knownHostsLine]);
    try {
      const file = await approve('data-backup', 'h1', backupParams());
      const r = await runApproval(world, file, ['--accept-new-host-keys']);
      expect(r.stderr).not.toMatch(stackTrace);
      expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
      const [keyType, base64] = h2.hostPublicKey.split(' ') as [string, string];
      const fingerprint = `SHA256:${createHash('sha256').update(Buffer.from(base64, 'base64')).digest('base64').replace(/=+$/, '')}`;
      expect(await readFile(world.knownHostsFile, 'utf8')).toContain(base64);
      expect(r.stderr).toContain(
        `[h1] accepted new host key ${fingerprint} (${keyType}) of ${h2.host} port ${h2.port}, added to ${world.knownHostsFile}`,
      );
      const journal = await readJournal(r.doc!.journal.path);
      expect(journal.filter((e) => e.type === 'host-key-accepted')).toEqual([
        expect.objectContaining({
          host: 'h1',
          address: h2.host,
          port: h2.port,
          keyType,
          fingerprint,
          knownHostsFile: world.knownHostsFile,
        }),
      ]);
      // The Port and User ~/.ssh/config gave the destination, which the signed copy_to does
      // not hold: journaled and said as a run host's are.
      expect(journal.filter((e) => e.type === 'host-route' && e.destination)).toEqual([
        expect.objectContaining({
          host: 'h1',
          destination: h2.host,
          address: h2.host,
          port: h2.port,
          user: 'root',
          fromSshConfig: ['port', 'user'],
        }),
      ]);
      expect(r.stderr).toContain(
        `[h1] reached copy destination ${h2.host} as root@${h2.host} port ${h2.port}: port, user from ~/.ssh/config, not in the approved plan`,
      );
      // Before the copy step ends: journaled as the key is taken, not after the fact.
      const at = (match: (e: (typeof journal)[number]) => boolean) => journal.findIndex(match);
      expect(at((e) => e.type === 'host-key-accepted')).toBeLessThan(
        at((e) => e.type === 'step-end' && e.step === 'copy'),
      );
      expect((await world.opsbook(['journal', 'verify', r.doc!.runId])).code).toBe(0);
    } finally {
      await world.writeKnownHosts();
    }
  });
});
