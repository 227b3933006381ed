import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  buildHealthReport,
  parseSince,
  type ReportFormat,
  renderHtml,
  renderJson,
  renderMarkdown,
  summarize,
} from '@opsbook/health-report';
import { loadRunInventory } from '@opsbook/runner';
import { UsageError, writeFileAtomic } from '@opsbook/schema';
import { defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';

const FORMATS: readonly ReportFormat[] = ['html', 'md', 'json'];

export default defineCommand({
  options: {
    since: {
      type: 'string',
      value: 'DAYS',
      default: '30d',
      description: 'how far back to read, e.g. 7d or 30d',
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
  details: `Reads the inspection results of every run journaled in the state dir over the range and
scores each host, group and the environment (formula: see @opsbook/health-report's README).
HTML is one self-contained file (charts inlined, nothing fetched when viewed); without -o it is
written to ./health-report-<date>.html. Markdown (short enough for a Jira comment) and JSON go
to stdout without -o.

Examples:
  opsbook report
  opsbook report --since 7d --format md
  opsbook report --format json -o report.json`,
  async run(ctx) {
    const format = stringOption(ctx, 'format') ?? 'html';
    if (!FORMATS.includes(format as ReportFormat)) {
      throw new UsageError(
        `--format ${JSON.stringify(format)} is not one of html, md, json; see opsbook report --help`,
      );
    }
    const now = new Date();
    const since = parseSince(stringOption(ctx, 'since') ?? '30d', now);
    const config = await configFor(ctx);
    const inventory = config.inventory ? await inventoryGroups(config) : undefined;
    const report = await buildHealthReport({
      stateDir: config.stateDir,
      since,
      now,
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

/** host → groups from the configured inventory, so the report can score groups. */
async function inventoryGroups(
  config: Awaited<ReturnType<typeof configFor>>,
): Promise<Record<string, string[]>> {
  const inventory = await loadRunInventory(config);
  return Object.fromEntries(
    inventory.hosts.map((h) => [h.name, h.groups.filter((g) => g !== 'ungrouped')]),
  );
}
