import path from 'node:path';
import { buildRunbookStats, renderStatsMarkdown } from '@opsbook/curation';
import { parseReportTime } from '@opsbook/health-report';
import { loadCatalog } from '@opsbook/runner/catalog';
import { didYouMean, readDuration, UsageError } from '@opsbook/schema';
import { stateViewOf } from '@opsbook/state';
import { defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { damageJson, endOfView } from '../ledger-damage.js';

const FORMATS = ['md', 'json'] as const;

export default defineCommand({
  options: {
    since: {
      type: 'string',
      value: 'WHEN',
      default: '90d',
      description: 'runs started since: days back (90d), a UTC day or an ISO time',
    },
    runbook: { type: 'string', value: 'NAME', description: 'only this runbook' },
    idle: {
      type: 'string',
      value: 'DAYS',
      default: '90d',
      description: 'list catalog runbooks not run for this long (90d)',
    },
    format: {
      type: 'string',
      value: 'md|json',
      default: 'md',
      description: 'Markdown for a review ticket, or one JSON document (same as --json)',
    },
  },
  details: `Usage statistics of the runbook library from the run history in the state store (the
state dir, or the team's PostgreSQL database), for the periodic review: per runbook and version
the runs, how they ended, the failure rate (failed ÷ ended runs; unreachable and interrupted runs
are counted apart), run durations (p50, p90, max, nearest rank), rollbacks (runs and hosts), the
steps that failed most (timeouts among them), and the runbooks of this repository's catalog that
nobody ran for --idle. Every journal is verified against what the store pinned at its end; a run
whose journal is missing or does not verify is left out of the numbers and named.

Examples:
  opsbook stats
  opsbook stats --since 30d --runbook config-rollout
  opsbook stats --format json > stats.json`,
  async run(ctx) {
    const format = stringOption(ctx, 'format') ?? 'md';
    if (!FORMATS.includes(format as (typeof FORMATS)[number]))
      throw new UsageError(
        `--format ${JSON.stringify(format)} is not one of md, json; see opsbook stats --help`,
      );
    const now = new Date();
    const since = parseReportTime(stringOption(ctx, 'since') ?? '90d', now, '--since');
    const idleText = stringOption(ctx, 'idle') ?? '90d';
    const idle = readDuration(idleText, ['d']);
    if (!idle)
      throw new UsageError(
        `--idle ${JSON.stringify(idleText)} is not a number of days such as 90d; see opsbook stats --help`,
      );
    const config = await configFor(ctx);
    const catalog = (await loadCatalog(config)).map((r) =>
      r.ok ? r.bundle.name : path.basename(r.dir),
    );
    const runbook = stringOption(ctx, 'runbook');
    const store = stateViewOf(config);
    const stats = await buildRunbookStats({
      store,
      since,
      until: now,
      now,
      catalog,
      idleSince: new Date(now.getTime() - idle.ms),
      ...(runbook !== undefined ? { runbook } : {}),
    });
    if (runbook !== undefined && !catalog.includes(runbook)) {
      // A runbook the catalog no longer holds may still have runs; a name with neither is a typo.
      if (stats.totals.runs === 0) {
        const guess = didYouMean(runbook, catalog);
        throw new UsageError(
          `--runbook ${runbook}: no runbook of that name in this repository's catalog, and no run of it since ${since.toISOString().slice(0, 10)}${guess ? `: did you mean '${guess}'?` : ''}`,
        );
      }
      ctx.out.note(
        `${runbook} is not in this repository's catalog (renamed or removed?): its runs are shown, and it is never listed as not run`,
      );
    }
    if (ctx.out.json || format === 'json') ctx.out.printJson({ ...stats, ...damageJson(store) });
    else ctx.out.print(renderStatsMarkdown(stats).trimEnd());
    return endOfView(ctx, store, exitCodes.ok);
  },
});
