import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  buildHealthReport,
  parseReportTime,
  type ReportFormat,
  renderHtml,
  renderJson,
  renderMarkdown,
  summarize,
} from '@opsbook/health-report';
import { UsageError, writeFileAtomic } from '@opsbook/schema';
import { stateStoreOf } from '@opsbook/state';
import { defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { hostSelectionOptions, hostsAsked, inventoryGroups } from '../host-selection.js';

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
    ...hostSelectionOptions,
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
(formula: see @opsbook/health-report's README). --host and --group (hosts of the inventory's
groups) narrow it to those hosts; given both, the report covers either.
HTML is one self-contained file (charts inlined, nothing fetched when viewed); without -o it is
written to ./health-report-<date>.html. Markdown (short enough for a Jira comment) and JSON go
to stdout without -o.

Examples:
  opsbook report
  opsbook report --since 7d --format md
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
    const config = await configFor(ctx);
    const inventory = config.inventory ? await inventoryGroups(config) : undefined;
    const hosts = hostsAsked(ctx, inventory);
    const report = await buildHealthReport({
      store: stateStoreOf(config),
      since,
      until,
      now,
      ...(hosts ? { hosts } : {}),
      ...(inventory ? { inventory } : {}),
    });
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
      await mkdir(path.dirname(path.resolve(file)), { recursive: true });
      await writeFileAtomic(path.resolve(file), text, { mode: 0o644 });
    }
    if (ctx.out.json) {
      ctx.out.printJson({
        format,
        file: file ? path.resolve(file) : null,
        summary: summarize(report),
        ...(file ? {} : { text }),
      });
      return exitCodes.ok;
    }
    if (file) {
      const s = summarize(report);
      ctx.out.note(
        `score ${s.score ?? 'no data'} · ${s.reporting}/${s.hosts} hosts reporting · ${s.crit} crit · ${s.warn} warn`,
      );
      for (const note of s.notes) ctx.out.note(note);
      ctx.out.print(path.resolve(file));
    } else {
      ctx.out.print(text.trimEnd());
    }
    return exitCodes.ok;
  },
});
