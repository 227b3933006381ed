import { createLocalTransport, paramEnvName, type Transport } from '@opsbook/exec';
import { UsageError } from '@opsbook/schema';
import {
  type BackupAction,
  type BackupActionContext,
  closed,
  countSchema,
  flagSchema,
  isSet,
} from './action-context.js';
import { copyAction } from './copy-action.js';
import { backupFiles, type Compression } from './file-backup.js';
import { backupPostgres, type PostgresTarget } from './postgres-backup.js';
import { type BackupQuery, findBackup, listBackups, openRepository } from './repository.js';
import { databaseTableStats, restoreFiles, restorePostgres } from './restore.js';
import { compareRestoredFiles, restoreTargetState } from './restore-check.js';
import { pruneRepository, type RetentionPolicy } from './retention.js';
import { checksumOf, compareTableStats, type TableChecksum } from './table-stats.js';
import { verifyRepository } from './verify.js';

const connection = {
  database: { type: 'string', minLength: 1, description: 'database name' },
  dbHost: { type: 'string', description: 'server host or socket folder (PGHOST); default libpq’s' },
  dbPort: {
    type: ['integer', 'string'],
    pattern: '^[0-9]{1,5}$|\\{\\{',
    minimum: 1,
    maximum: 65535,
  },
  dbUser: { type: 'string' },
  passwordParam: { type: 'string', description: 'name of the secret param holding the password' },
  passFile: { type: 'string', description: '.pgpass file on the machine that runs the client' },
  where: {
    enum: ['host', 'runner'],
    description: 'run the client on the host (default) or on the runner',
  },
  sudo: { type: 'boolean' },
} as const;

const backupSelector = {
  backup: { type: 'string', minLength: 1, description: 'backup id or latest' },
  fromHost: {
    type: 'string',
    description: 'for latest: the host the backup was taken from; default this host',
  },
  manifest: {
    type: 'string',
    pattern: '^sha256:[0-9a-f]{64}$',
    description:
      "set by the plan, not by hand: the sha256 of the backup's manifest.json, so that the run uses the backup the senior approved",
  },
} as const;

/**
 * The backup a step of `action` selects on `host` (`with:` as planned), or undefined when it
 * selects none (a verify of every backup of the host, an emptiness check). The plan binds the
 * backup it names (the runner's plan) and the run finds it by the same query, with the bound
 * manifest digest: one function, so that the two cannot drift apart.
 */
export function backupQueryOf(
  action: string,
  w: Readonly<Record<string, unknown>>,
  host: string,
): BackupQuery | undefined {
  const from = (typeof w.fromHost === 'string' && w.fromHost) || host;
  const manifest = typeof w.manifest === 'string' ? { manifest: w.manifest } : {};
  const backup = typeof w.backup === 'string' ? w.backup : undefined;
  if (action === 'backup.verify') {
    if (backup === undefined) return undefined;
    return {
      id: backup,
      host: from,
      ...(typeof w.kind === 'string' ? { kind: w.kind } : {}),
      ...manifest,
    };
  }
  if (action === 'backup.restore') {
    if (backup === undefined) return undefined;
    return {
      id: backup,
      host: from,
      kind: w.database === undefined ? 'files' : 'postgres',
      ...manifest,
    };
  }
  if (action === 'backup.compare') {
    if (w.expect === 'empty') return undefined;
    const kind = typeof w.targetDir === 'string' ? 'files' : 'postgres';
    return { id: backup ?? 'latest', host: from, kind, ...manifest };
  }
  return undefined;
}

const retention = {
  keepLast: countSchema,
  keepDaily: countSchema,
  keepWeekly: countSchema,
  keepMonthly: countSchema,
  keepYearly: countSchema,
} as const;

function targetOf(ctx: BackupActionContext): PostgresTarget {
  const w = ctx.with;
  const param = w.passwordParam as string | undefined;
  // Secret params by name, or as the runner's OPSBOOK_PARAM_<NAME> variables.
  const password =
    param === undefined ? undefined : (ctx.secrets[param] ?? ctx.secrets[paramEnvName(param)]);
  // No value (or an empty one): libpq falls back to .pgpass or peer authentication.
  return {
    database: w.database as string,
    ...(w.dbHost ? { host: w.dbHost as string } : {}),
    ...(w.dbPort ? { port: Number(w.dbPort) } : {}),
    ...(w.dbUser ? { user: w.dbUser as string } : {}),
    ...(password ? { password } : {}),
    ...(w.passFile ? { passFile: w.passFile as string } : {}),
  };
}

const clientTransport = (ctx: BackupActionContext): Transport =>
  ctx.with.where === 'runner' ? createLocalTransport({ host: ctx.host }) : ctx.transport;

/** What a backup passes on of the run that takes it: its id, its cancellation, its progress. */
const runOf = (ctx: BackupActionContext) => ({
  runId: ctx.runId,
  signal: ctx.signal,
  ...(ctx.progress ? { onProgress: ctx.progress } : {}),
});

const filesAction: BackupAction = {
  name: 'backup.files',
  description: 'archive files and folders of the host (tar over SSH) into the backup repository',
  withSchema: closed(
    {
      paths: {
        type: 'array',
        minItems: 1,
        items: { type: 'string', minLength: 1, description: 'absolute path on the host' },
      },
      exclude: { type: 'array', items: { type: 'string' } },
      compression: { enum: ['auto', 'zstd', 'gzip', 'none'] },
      onChange: { enum: ['warn', 'fail'] },
      sudo: { type: 'boolean' },
    },
    ['paths'],
  ),
  async run(ctx) {
    const w = ctx.with;
    const { backup, warnings } = await backupFiles({
      transport: ctx.transport,
      repository: ctx.repository,
      paths: w.paths as string[],
      ...(w.exclude ? { exclude: w.exclude as string[] } : {}),
      ...(w.compression ? { compression: w.compression as Compression } : {}),
      ...(w.onChange ? { onChange: w.onChange as 'warn' | 'fail' } : {}),
      sudo: w.sudo === true,
      ...runOf(ctx),
    });
    const a = backup.manifest.archives[0]!;
    return {
      ok: true,
      summary: `backup ${backup.id}: ${a.size} bytes${warnings.length ? `; ${warnings.length} file(s) changed while read` : ''}`,
      data: { backupId: backup.id, archives: backup.manifest.archives, warnings },
    };
  },
};

const postgresAction: BackupAction = {
  name: 'backup.postgres',
  description: 'dump a PostgreSQL database (pg_dump -Fc) into the backup repository',
  withSchema: closed({ ...connection, tableStats: { type: 'boolean' } }, ['database']),
  async run(ctx) {
    const { backup } = await backupPostgres({
      transport: clientTransport(ctx),
      host: ctx.host,
      repository: ctx.repository,
      target: targetOf(ctx),
      tableStats: ctx.with.tableStats !== false,
      sudo: ctx.with.sudo === true,
      ...runOf(ctx),
    });
    const a = backup.manifest.archives[0]!;
    return {
      ok: true,
      summary: `backup ${backup.id}: ${a.size} bytes, ${backup.manifest.tables?.length ?? 0} tables`,
      data: {
        backupId: backup.id,
        archives: backup.manifest.archives,
        tables: backup.manifest.tables ?? [],
      },
    };
  },
};

const verifyAction: BackupAction = {
  name: 'backup.verify',
  description:
    're-hash the backups of this host against their manifests (pg_restore --list for dumps)',
  withSchema: closed({
    all: { type: 'boolean', description: 'every backup, not only this host’s' },
    ...backupSelector,
    kind: { enum: ['files', 'postgres'], description: 'with backup: latest, of this kind' },
  }),
  async run(ctx) {
    const repo = await openRepository(ctx.repository, { create: true });
    const w = ctx.with;
    const ids =
      typeof w.backup === 'string'
        ? [(await findBackup(repo, backupQueryOf(verifyAction.name, w, ctx.host)!)).id]
        : w.all === true
          ? undefined
          : await idsOfHost(repo.dir, ctx.host);
    const report = await verifyRepository(repo.dir, {
      ...(ids ? { ids } : {}),
      signal: ctx.signal,
    });
    const bad = report.backups.filter((b) => !b.ok);
    return {
      ok: report.ok,
      summary: report.ok
        ? `${report.backups.length} backup(s) verified`
        : `${bad.length} of ${report.backups.length} backup(s) damaged: ${bad.flatMap((b) => b.problems.map((p) => `${p.file} ${p.kind}`)).join(', ')}`,
      data: { ...report },
    };
  },
};

async function idsOfHost(repository: string, host: string): Promise<string[]> {
  const { backups } = await listBackups(await openRepository(repository));
  return backups.filter((b) => b.manifest.host === host).map((b) => b.id);
}

const pruneAction: BackupAction = {
  name: 'backup.prune',
  description:
    'remove this host’s backups that a retention policy no longer keeps (never the last verified one)',
  withSchema: closed({ ...retention, dryRun: flagSchema, source: { type: 'string' } }),
  async run(ctx) {
    const w = ctx.with;
    const policy: RetentionPolicy = Object.fromEntries(
      Object.keys(retention)
        .filter((k) => w[k] !== undefined)
        .map((k) => [k, Number(w[k])]),
    );
    const report = await pruneRepository(ctx.repository, {
      policy,
      dryRun: isSet(w.dryRun),
      host: ctx.host,
      // What this run just made is never removed, whatever dates the repository holds.
      keepRunId: ctx.runId,
      ...(w.source ? { source: w.source as string } : {}),
    });
    const doomed = report.decisions.filter((d) => !d.keep).map((d) => d.id);
    return {
      ok: true,
      summary: `${report.dryRun ? 'would remove' : 'removed'} ${doomed.length} backup(s), kept ${report.decisions.length - doomed.length}`,
      data: { ...report },
    };
  },
};

const restoreAction: BackupAction = {
  name: 'backup.restore',
  description:
    'restore a backup into a folder of the host, or into a PostgreSQL database (a change: needs approval)',
  withSchema: closed(
    {
      ...backupSelector,
      targetDir: { type: 'string', minLength: 1, description: 'absolute folder on the host' },
      overwrite: flagSchema,
      ...connection,
      clean: { type: 'boolean' },
      unproven: {
        ...flagSchema,
        description:
          'restore a backup that no verified run journal of the state store shows opsbook making (brought from elsewhere); the plan says so to the senior',
      },
      madeBy: {
        type: 'string',
        description:
          'set by the plan, not by hand: the run whose verified journal shows the backup made, or why none does',
      },
    },
    ['backup'],
  ),
  async run(ctx) {
    const w = ctx.with;
    const backup = backupQueryOf(restoreAction.name, w, ctx.host)!;
    if (w.database === undefined) {
      if (typeof w.targetDir !== 'string')
        throw new UsageError('backup.restore needs targetDir (files) or database (PostgreSQL)');
      const out = await restoreFiles({
        transport: ctx.transport,
        repository: ctx.repository,
        backup,
        targetDir: w.targetDir,
        overwrite: isSet(w.overwrite),
        sudo: w.sudo === true,
        signal: ctx.signal,
      });
      return { ok: true, summary: `restored ${out.backupId} into ${out.target}`, data: { ...out } };
    }
    const out = await restorePostgres({
      transport: clientTransport(ctx),
      repository: ctx.repository,
      backup,
      target: targetOf(ctx),
      clean: w.clean === true,
      sudo: w.sudo === true,
      signal: ctx.signal,
    });
    const ok = !out.differences?.length;
    return {
      ok,
      summary: ok
        ? `restored ${out.backupId} into ${out.target}: ${out.tables?.length ?? 0} tables match`
        : `restored ${out.backupId}, but ${out.differences!.length} table(s) differ`,
      data: { ...out },
    };
  },
};

const compareAction: BackupAction = {
  name: 'backup.compare',
  description:
    'check a database against a backup: empty (pre-check of a restore target) or matching its row counts and checksums',
  withSchema: closed(
    {
      ...backupSelector,
      ...connection,
      targetDir: { type: 'string', minLength: 1, description: 'a restored folder on the host' },
      overwrite: flagSchema,
      expect: { enum: ['empty', 'backup'] },
    },
    ['expect'],
  ),
  async run(ctx) {
    const w = ctx.with;
    if (typeof w.targetDir === 'string') return compareFolder(ctx, w.targetDir);
    if (typeof w.database !== 'string')
      throw new UsageError('backup.compare needs targetDir (files) or database (PostgreSQL)');
    const stats = (checksum?: TableChecksum) =>
      databaseTableStats(clientTransport(ctx), targetOf(ctx), {
        sudo: w.sudo === true,
        signal: ctx.signal,
        checksum,
      });
    if (w.expect === 'empty') {
      const tables = await stats();
      const ok = tables.length === 0;
      return {
        ok,
        summary: ok
          ? `${w.database} has no tables: safe to restore into`
          : `${w.database} already has ${tables.length} table(s): not the intended empty target`,
        data: { tables },
      };
    }
    const repo = await openRepository(ctx.repository);
    const entry = await findBackup(repo, backupQueryOf(compareAction.name, w, ctx.host)!);
    const tables = await stats(checksumOf(entry.manifest.tables));
    const differences = compareTableStats(entry.manifest.tables ?? [], tables);
    const ok = entry.manifest.tables !== undefined && differences.length === 0;
    return {
      ok,
      summary: ok
        ? `${tables.length} table(s) match backup ${entry.id}`
        : `${differences.length} difference(s) with backup ${entry.id}`,
      data: { backupId: entry.id, tables, differences },
    };
  },
};

/** `backup.compare` of a folder: empty before a restore, equal to the backup's files after. */
async function compareFolder(ctx: BackupActionContext, targetDir: string) {
  const w = ctx.with;
  const options = { sudo: w.sudo === true, signal: ctx.signal };
  if (w.expect === 'empty') {
    const state = await restoreTargetState(ctx.transport, targetDir, options);
    const empty = state.entries === 0;
    const ok = empty || isSet(w.overwrite);
    return {
      ok,
      summary: empty
        ? `${targetDir} is ${state.exists ? 'empty' : 'absent'}: safe to restore into`
        : ok
          ? `${targetDir} holds ${state.entries} entries; overwrite was asked: the backup's files will replace theirs`
          : `${targetDir} is not empty (${state.entries} entries): RESTORE_TARGET_NOT_EMPTY, choose an empty folder or set overwrite`,
      data: { ...state },
    };
  }
  const check = await compareRestoredFiles({
    transport: ctx.transport,
    repository: ctx.repository,
    backup: backupQueryOf(compareAction.name, w, ctx.host)!,
    targetDir,
    ...options,
  });
  const ok = check.differences.length === 0;
  return {
    ok,
    summary: ok
      ? `${targetDir} holds exactly the files of backup ${check.backupId} (tar --compare, archive sha256 checked)`
      : `${check.differences.length} difference(s) with backup ${check.backupId}: ${check.differences.slice(0, 5).join('; ')}`,
    data: { ...check },
  };
}

/** The backup actions a runbook step may name with `uses:`. */
export const backupActions: ReadonlyMap<string, BackupAction> = new Map(
  [
    filesAction,
    postgresAction,
    verifyAction,
    pruneAction,
    restoreAction,
    compareAction,
    copyAction,
  ].map((a) => [a.name, a]),
);
