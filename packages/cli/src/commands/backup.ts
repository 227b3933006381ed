import { stat } from 'node:fs/promises';
import path from 'node:path';
import {
  listBackups,
  openRepository,
  parseRetentionPolicy,
  pruneRepository,
  RETENTION_RULES,
  verifyRepository,
} from '@opsbook/backup';
import { backupHistory } from '@opsbook/runner';
import { UsageError } from '@opsbook/schema';
import { filterRuns, stateViewOf } from '@opsbook/state';
import {
  type CommandContext,
  type CommandSpec,
  defineCommand,
  type OptionSpec,
} from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { hostSelectionOptions } from '../host-selection.js';
import { damageJson, endOfView } from '../ledger-damage.js';
import { formatTable } from '../output.js';
import { runFilterOf, runInventoryOptions, runTimeOptions } from '../run-filter.js';
import { showControlsIn } from '../terminal-safe.js';

const repositoryOption: Record<string, OptionSpec> = {
  repository: {
    type: 'string',
    value: 'DIR',
    description: 'the backup repository; default <stateDir>/backups',
  },
};

async function repositoryOf(ctx: CommandContext): Promise<string> {
  if (typeof ctx.options.repository === 'string') return path.resolve(ctx.options.repository);
  const config = await configFor(ctx);
  return path.join(config.stateDir, 'backups');
}

/**
 * This machine's repository (no --repository) when no backup was made here yet: the first backup
 * run makes <stateDir>/backups, so its absence is an empty repository, not a mistake. A
 * --repository that does not exist stays an error (a mistyped path).
 */
async function noBackupsYet(ctx: CommandContext, dir: string): Promise<boolean> {
  if (typeof ctx.options.repository === 'string') return false;
  const missing = await stat(dir).then(
    () => false,
    (e: NodeJS.ErrnoException) => e.code === 'ENOENT',
  );
  if (missing && !ctx.out.json)
    ctx.out.note(`no backups yet: ${dir} does not exist (a backup run on this machine makes it)`);
  return missing;
}

export const list: CommandSpec = defineCommand({
  options: {
    ...repositoryOption,
    history: {
      type: 'boolean',
      description:
        "list the backups the state store's runs made (the team's, with PostgreSQL) instead of one repository",
    },
    ...hostSelectionOptions,
    ...runInventoryOptions,
    ...runTimeOptions,
    runbook: {
      type: 'string',
      value: 'NAME',
      description: 'with --history: only runs of this runbook',
    },
  },
  details: `Without --history: the backups of one repository (--repository, or this machine's
<stateDir>/backups), oldest first, with their last verification (opsbook backup verify). Before
the first backup on this machine there is no <stateDir>/backups: no backups yet (exit 0).

With --history (the default when the state store is PostgreSQL and no --repository is given):
the backups that the runs in the state store made, read from their verified journals: with the
team's PostgreSQL store, every runner's backups, each with the run and executor that made it
(whose repository holds it) and the off-host copies (backup.copy) that were checked to match.
--host/--group, -i/--target (the hosts of an inventory, or of an Ansible pattern over it),
--since/--until (when the run started; default 30d) and --runbook narrow it.

Examples:
  opsbook backup list
  opsbook backup list --history --host db1 --since 7d
  opsbook backup list --repository /srv/opsbook-backups --json`,
  async run(ctx) {
    const config = await configFor(ctx);
    const history =
      ctx.options.history === true ||
      (config.state.kind === 'postgres' && typeof ctx.options.repository !== 'string');
    if (!history) {
      const historyOnly = [
        'host',
        'group',
        'inventory',
        'limit',
        'since',
        'until',
        'runbook',
      ].filter((o) => ctx.options[o] !== undefined);
      if (historyOnly.length)
        throw new UsageError(
          `--${historyOnly[0]} selects from the run history: add --history (a repository is listed whole)`,
        );
      return listRepository(ctx);
    }
    if (typeof ctx.options.repository === 'string')
      throw new UsageError('--history lists the state store, not a repository: drop --repository');
    return listHistory(ctx, config);
  },
});

/** `backup list --history`: the backups the store's runs made, from their journals. */
async function listHistory(
  ctx: CommandContext,
  config: Awaited<ReturnType<typeof configFor>>,
): Promise<number> {
  const now = new Date();
  const filter = await runFilterOf(ctx, config, now);
  filter.since ??= new Date(now.getTime() - 30 * 86_400_000);
  const store = stateViewOf(config);
  const runs = filterRuns(await store.listRuns(), filter);
  const { backups, problems } = await backupHistory(store, runs);
  const wanted = filter.hosts ? new Set(filter.hosts) : undefined;
  const shown = wanted ? backups.filter((b) => wanted.has(b.host)) : backups;
  if (ctx.out.json) {
    ctx.out.printJson({
      store: store.location,
      since: filter.since.toISOString(),
      backups: shown,
      problems,
      ...damageJson(store),
    });
    return endOfView(ctx, store, problems.length ? exitCodes.refused : exitCodes.ok);
  }
  const { style } = ctx.out;
  if (!shown.length)
    ctx.out.note(
      `no backups in the ${runs.length} run(s) of ${store.location} since ${filter.since.toISOString()}`,
    );
  else
    ctx.out.print(
      formatTable(
        ['BACKUP', 'HOST', 'KIND', 'MADE', 'SIZE', 'RUN', 'BY', 'OFF-HOST COPIES'],
        showControlsIn(shown).map((b) => [
          b.backupId,
          b.host,
          b.kind,
          b.at,
          String(b.size),
          b.runId,
          b.executor ?? '',
          b.copies.length ? b.copies.join(', ') : style.yellow('none'),
        ]),
        style,
      ),
    );
  for (const p of problems) ctx.out.print(style.red(`run ${p.runId}: ${p.message}`));
  return endOfView(ctx, store, problems.length ? exitCodes.refused : exitCodes.ok);
}

/** `backup list` of one repository: its manifests, with their last verification. */
async function listRepository(ctx: CommandContext): Promise<number> {
  const dir = await repositoryOf(ctx);
  if (await noBackupsYet(ctx, dir)) {
    if (ctx.out.json) ctx.out.printJson({ repository: dir, backups: [], broken: [] });
    return exitCodes.ok;
  }
  const repo = await openRepository(dir);
  const { backups, broken } = await listBackups(repo);
  if (ctx.out.json) {
    ctx.out.printJson({
      repository: repo.dir,
      backups: backups.map((b) => ({ ...b.manifest, verification: b.verification ?? null })),
      broken,
    });
    return broken.length ? exitCodes.failed : exitCodes.ok;
  }
  const { style } = ctx.out;
  ctx.out.print(
    formatTable(
      ['BACKUP', 'HOST', 'SOURCE', 'STARTED', 'SIZE', 'VERIFIED', 'RUN'],
      backups.map((b) => [
        b.id,
        b.manifest.host,
        b.manifest.source,
        b.manifest.startedAt,
        String(b.manifest.archives.reduce((n, a) => n + a.size, 0)),
        b.verification
          ? b.verification.ok
            ? style.green(b.verification.verifiedAt)
            : style.red('DAMAGED')
          : 'never',
        b.manifest.runId ?? '',
      ]),
      style,
    ),
  );
  for (const b of broken) ctx.out.print(style.red(`broken ${b.id}: ${b.problem}`));
  return broken.length ? exitCodes.failed : exitCodes.ok;
}

export const verify: CommandSpec = defineCommand({
  args: '[backup-id…]',
  positionals: { min: 0, max: 1000 },
  options: repositoryOption,
  async run(ctx) {
    const dir = await repositoryOf(ctx);
    if (await noBackupsYet(ctx, dir)) {
      // Backups named that cannot be there: a mistake, said as such (the note said why).
      if (ctx.positionals.length)
        throw new UsageError(`no backup ${ctx.positionals.join(', ')} on this machine`);
      if (ctx.out.json) ctx.out.printJson({ repository: dir, ok: true, backups: [] });
      return exitCodes.ok;
    }
    const report = await verifyRepository(dir, {
      ...(ctx.positionals.length ? { ids: ctx.positionals } : {}),
    });
    if (ctx.out.json) {
      ctx.out.printJson(report);
      return report.ok ? exitCodes.ok : exitCodes.failed;
    }
    const { style } = ctx.out;
    for (const b of report.backups) {
      ctx.out.print(`${b.ok ? style.green('ok     ') : style.red('DAMAGED')} ${b.backupId}`);
      for (const p of b.problems) ctx.out.print(style.red(`        ${p.file}: ${p.message}`));
    }
    if (!report.backups.length) ctx.out.note(`no backups in ${report.repository}`);
    return report.ok ? exitCodes.ok : exitCodes.failed;
  },
});

export const prune: CommandSpec = defineCommand({
  options: {
    ...repositoryOption,
    ...Object.fromEntries(
      RETENTION_RULES.map(([, option]) => [
        option,
        { type: 'string', value: 'N', description: `${option.replace('-', ' ')} N` },
      ]),
    ),
    host: { type: 'string', value: 'HOST', description: 'only backups of this host' },
    source: { type: 'string', value: 'SOURCE', description: 'only backups of this source' },
    'dry-run': { type: 'boolean', description: 'list what would be removed; remove nothing' },
  },
  details:
    'Like restic forget: e.g. --keep-last 3 --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --dry-run',
  async run(ctx) {
    const dir = await repositoryOf(ctx);
    const policy = parseRetentionPolicy(ctx.options);
    const dryRun = ctx.options['dry-run'] === true;
    if (await noBackupsYet(ctx, dir)) {
      const none = { repository: dir, dryRun, decisions: [], removed: [], abandoned: [] };
      if (ctx.out.json) ctx.out.printJson(none);
      return exitCodes.ok;
    }
    const report = await pruneRepository(dir, {
      policy,
      dryRun,
      ...(typeof ctx.options.host === 'string' ? { host: ctx.options.host } : {}),
      ...(typeof ctx.options.source === 'string' ? { source: ctx.options.source } : {}),
    });
    if (ctx.out.json) {
      ctx.out.printJson(report);
      return exitCodes.ok;
    }
    const { style } = ctx.out;
    for (const d of report.decisions) {
      const verb = d.keep
        ? style.green('keep  ')
        : style.red(report.dryRun ? 'would remove' : 'remove');
      ctx.out.print(
        `${verb} ${d.id}  ${d.host} ${d.source}${d.reasons.length ? `  (${d.reasons.join(', ')})` : ''}`,
      );
    }
    for (const a of report.abandoned)
      ctx.out.print(`${report.dryRun ? 'would clear' : 'cleared'} interrupted backup ${a}`);
    return exitCodes.ok;
  },
});
