import path from 'node:path';
import {
  buildHealthReport,
  CHART_HOSTS,
  computeAlertsSection,
  defaultFitRule,
  parseReportTime,
  type ReportFormat,
  renderHtml,
  renderJson,
  renderMarkdown,
  summarize,
  URGENT_DAYS,
} from '@opsbook/health-report';
import { makeDirectory, UsageError, writeFileAtomic } from '@opsbook/schema';
import { stateViewOf } from '@opsbook/state';
import { type CommandContext, defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { hostSelectionOptions, inventoryScope, inventoryScopeOptions } from '../host-selection.js';
import { damageJson, endOfView } from '../ledger-damage.js';
import { escapeJsonControls, showControls } from '../terminal-safe.js';
import { alertActivityOf } from './alerts-report.js';

const FORMATS: readonly ReportFormat[] = ['html', 'md', 'json'];

export default defineCommand({
  options: {
    since: {
      type: 'string',
      value: 'WHEN',
      default: '30d',
      description: 'start of the range: days back (7d, 30d), a UTC day or an ISO time',
    },
    until: {
      type: 'string',
      value: 'WHEN',
      description: 'end of the range (default now): days back, a UTC day (its end) or an ISO time',
    },
    ...inventoryScopeOptions,
    ...hostSelectionOptions,
    'urgent-days': {
      type: 'string',
      value: 'N',
      default: String(URGENT_DAYS),
      description: 'urgent when a disk or memory is predicted full in fewer days than this',
    },
    format: {
      type: 'string',
      value: 'html|md|json',
      default: 'html',
      description: 'what to write',
    },
    output: {
      type: 'string',
      short: 'o',
      value: 'FILE',
      description: 'write here instead of the default',
    },
  },
  details: `Reads the inspection results of every run in the state store (the state dir, or the
team's PostgreSQL database) over the range and scores each host, group and the environment
(formula: see @opsbook/health-report's README). Findings come only from journals that verify
against what the store pinned at each run's end; a run whose journal does not is left out of
every number and named.

Which hosts: those of the inventory (-i FILE, else the inventory of opsbook.yaml, as run and
inspect choose it); hosts with results but not in it (removed hosts, test runs) are left out and
the report says how many. Without any inventory, every host in the history. --limit narrows to
the hosts an Ansible pattern selects (as a plan's --target); --host and --group narrow further
(a host named or in a group named); --all-hosts drops the inventory's bound.

The headline puts urgency before the average score: a crit finding in a host's latest results,
or a disk or memory predicted full in fewer than --urgent-days days, makes it URGENT (naming host,
resource and days) whatever the score. A prediction needs a meaningful fit (${defaultFitRule.minPoints} daily points
over ${defaultFitRule.minSpanDays} days, R² ≥ ${defaultFitRule.minR2}, growing); otherwise the report says why not.
HTML is one self-contained file (charts inlined, nothing fetched when viewed): disk, memory and
load over time of the urgent and lowest-scoring hosts (${CHART_HOSTS} at most), with the predicted crossing
of 100 %. Without -o it is written to ./health-report-<date>.html. Markdown (short enough for a
Jira comment) and JSON go to stdout without -o. The exit code does not depend on the findings.

Examples:
  opsbook report
  opsbook report --since 7d --format md
  opsbook report -i inventory/prod.yaml --limit 'db:&prod' --urgent-days 21
  opsbook report --group db --since 2025-03-01 --until 2025-03-31
  opsbook report --format json -o report.json`,
  async run(ctx) {
    const format = stringOption(ctx, 'format') ?? 'html';
    if (!FORMATS.includes(format as ReportFormat)) {
      throw new UsageError(
        `--format ${JSON.stringify(format)} is not one of html, md, json; see opsbook report --help`,
      );
    }
    const now = new Date();
    const since = parseReportTime(stringOption(ctx, 'since') ?? '30d', now, '--since');
    const untilOption = stringOption(ctx, 'until');
    const until = untilOption ? parseReportTime(untilOption, now, '--until') : now;
    if (until < since) {
      throw new UsageError(
        `--until ${until.toISOString()} is before --since ${since.toISOString()}: nothing to report`,
      );
    }
    const urgentDays = urgentDaysOf(ctx);
    const config = await configFor(ctx);
    const scope = await inventoryScope(ctx, config);
    const store = stateViewOf(config);
    const report = await buildHealthReport({
      store,
      since,
      until,
      now,
      urgentDays,
      ...(scope.selection ? { selection: scope.selection } : {}),
      ...(scope.groups ? { inventory: scope.groups } : {}),
    });
    const activity = await alertActivityOf(config, since, until, report.notes);
    const alerts = activity ? computeAlertsSection(activity, until) : undefined;
    if (alerts) report.alerts = alerts;
    const text =
      format === 'html'
        ? await renderHtml(report)
        : format === 'md'
          ? renderMarkdown(report)
          : renderJson(report);
    const chosen = stringOption(ctx, 'output');
    const file =
      chosen ??
      (format === 'html' ? `health-report-${now.toISOString().slice(0, 10)}.html` : undefined);
    if (file) {
      await makeDirectory(path.dirname(path.resolve(file)));
      // A file is read with cat and less too: no raw control character from a host's output.
      const safe =
        format === 'json' ? escapeJsonControls(text) : format === 'md' ? showControls(text) : text;
      await writeFileAtomic(path.resolve(file), safe, { mode: 0o644 });
    }
    if (ctx.out.json) {
      ctx.out.printJson({
        format,
        file: file ? path.resolve(file) : null,
        summary: summarize(report),
        ...(file ? {} : { text }),
        ...damageJson(store),
      });
      return endOfView(ctx, store, exitCodes.ok);
    }
    if (file) {
      const s = summarize(report);
      ctx.out.note(s.headline);
      ctx.out.note(
        `score ${s.score ?? 'no data'} · ${s.reporting}/${s.hosts} hosts reporting · ${s.crit} crit · ${s.warn} warn`,
      );
      for (const note of s.notes) ctx.out.note(note);
      ctx.out.print(path.resolve(file));
    } else if (format === 'json') {
      // Data: its strings' DEL and C1 stay JSON escapes, where print would make them invalid JSON.
      ctx.out.printData(text);
    } else {
      ctx.out.print(text.trimEnd());
    }
    return endOfView(ctx, store, exitCodes.ok);
  },
});

function urgentDaysOf(ctx: CommandContext): number {
  const text = stringOption(ctx, 'urgent-days') ?? String(URGENT_DAYS);
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n < 1 || n > 366) {
    throw new UsageError(
      `--urgent-days ${JSON.stringify(text)} is not a whole number of days from 1 to 366`,
    );
  }
  return n;
}
