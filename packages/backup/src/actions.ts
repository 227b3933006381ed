import { createLocalTransport, paramEnvName, type Transport } from '@opsbook/exec';
import { UsageError } from '@opsbook/schema';
import { type BackupProgress, backupFiles, type Compression } from './file-backup.js';
import { backupPostgres, type PostgresTarget } from './postgres-backup.js';
import { findBackup, openRepository } from './repository.js';
import { databaseTableStats, restoreFiles, restorePostgres } from './restore.js';
import { pruneRepository, type RetentionPolicy } from './retention.js';
import { compareTableStats } from './table-stats.js';
import { verifyRepository } from './verify.js';

/** What the runner gives an action for one host. */
export interface BackupActionContext {
  /** The host's transport (one SSH connection, or local). */
  transport: Transport;
  /** Inventory name of the host. */
  host: string;
  /** The step's `with:`, already rendered and validated against the action's `withSchema`. */
  with: Record<string, unknown>;
  /** The local repository folder. */
  repository: string;
  runId: string;
  /** Secret params by name, or as OPSBOOK_PARAM_<NAME> variables (never logged); `passwordParam` names one. */
  secrets: Readonly<Record<string, string>>;
  signal: AbortSignal;
  /** Progress for the live display and the journal. */
  progress?: (event: BackupProgress) => void;
}

/** What an action returns, for the journal: `ok` decides the step's status. */
export interface BackupActionResult {
  ok: boolean;
  summary: string;
  data: Record<string, unknown>;
}

export interface BackupAction {
  name: string;
  description: string;
  /** JSON Schema (2020-12) of `with:`; closed. */
  withSchema: object;
  run(ctx: BackupActionContext): Promise<BackupActionResult>;
}

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
} as const;

const retention = {
  keepLast: { type: 'integer', minimum: 0 },
  keepDaily: { type: 'integer', minimum: 0 },
  keepWeekly: { type: 'integer', minimum: 0 },
  keepMonthly: { type: 'integer', minimum: 0 },
  keepYearly: { type: 'integer', minimum: 0 },
} as const;

const closed = (properties: object, required: string[] = []) => ({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  required,
  properties,
});

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
  }),
  async run(ctx) {
    const repo = await openRepository(ctx.repository, { create: true });
    const ids = ctx.with.all === true ? undefined : await idsOfHost(repo.dir, ctx.host);
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
  const { listBackups } = await import('./repository.js');
  const { backups } = await listBackups(await openRepository(repository));
  return backups.filter((b) => b.manifest.host === host).map((b) => b.id);
}

const pruneAction: BackupAction = {
  name: 'backup.prune',
  description:
    'remove this host’s backups that a retention policy no longer keeps (never the last verified one)',
  withSchema: closed({ ...retention, dryRun: { type: 'boolean' }, source: { type: 'string' } }),
  async run(ctx) {
    const w = ctx.with;
    const policy: RetentionPolicy = Object.fromEntries(
      Object.keys(retention)
        .filter((k) => w[k] !== undefined)
        .map((k) => [k, w[k]]),
    );
    const report = await pruneRepository(ctx.repository, {
      policy,
      dryRun: w.dryRun === true,
      host: ctx.host,
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
      overwrite: { type: 'boolean' },
      ...connection,
      clean: { type: 'boolean' },
    },
    ['backup'],
  ),
  async run(ctx) {
    const w = ctx.with;
    const backup = { id: w.backup as string, host: (w.fromHost as string | undefined) ?? ctx.host };
    if (w.database === undefined) {
      if (typeof w.targetDir !== 'string')
        throw new UsageError('backup.restore needs targetDir (files) or database (PostgreSQL)');
      const out = await restoreFiles({
        transport: ctx.transport,
        repository: ctx.repository,
        backup,
        targetDir: w.targetDir,
        overwrite: w.overwrite === true,
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
  withSchema: closed({ ...backupSelector, ...connection, expect: { enum: ['empty', 'backup'] } }, [
    'database',
    'expect',
  ]),
  async run(ctx) {
    const w = ctx.with;
    const tables = await databaseTableStats(clientTransport(ctx), targetOf(ctx), {
      sudo: w.sudo === true,
      signal: ctx.signal,
    });
    if (w.expect === 'empty') {
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
    const entry = await findBackup(repo, {
      id: (w.backup as string | undefined) ?? 'latest',
      host: (w.fromHost as string | undefined) ?? ctx.host,
      kind: 'postgres',
    });
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

/** The backup actions a runbook step may name with `uses:`. */
export const backupActions: ReadonlyMap<string, BackupAction> = new Map(
  [filesAction, postgresAction, verifyAction, pruneAction, restoreAction, compareAction].map(
    (a) => [a.name, a],
  ),
);
