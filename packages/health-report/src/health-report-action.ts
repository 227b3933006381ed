import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectory, writeFileAtomic } from '@opsbook/schema';
import { buildHealthReport } from './build-health-report.js';
import { healthReportErrors } from './error-codes.js';
import type { HistorySource } from './read-history.js';
import { renderHtml } from './render-html.js';
import { renderJson } from './render-json.js';
import { renderMarkdown } from './render-markdown.js';
import type { HealthReport } from './report-schema.js';
import { parseSince, SINCE_PATTERN } from './report-since.js';

export type ReportFormat = 'html' | 'md' | 'json';
const FORMATS: readonly ReportFormat[] = ['html', 'md', 'json'];
export const REPORT_BASENAME = 'health-report';

export const healthReportWithSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  properties: {
    since: {
      type: 'string',
      pattern: SINCE_PATTERN,
      default: '30d',
      description: 'how far back to read the journal, in days (e.g. 30d)',
    },
    format: {
      type: 'array',
      items: { enum: FORMATS },
      minItems: 1,
      uniqueItems: true,
      default: FORMATS,
      description:
        'files to write: html (self-contained dashboard), md (ticket comment), json (for tools)',
    },
    title: { type: 'string', minLength: 1, maxLength: 200, description: 'heading of the report' },
  },
} as const;

export interface HealthReportContext {
  stateDir: string;
  /** The run's state store; default the files store of `stateDir`. */
  store?: HistorySource;
  now: Date;
  /** The step's `with:` (already checked against withSchema by the runner; checked again here). */
  with: unknown;
  /** Where the files go; created if missing. */
  outputDir: string;
  /** host → inventory groups, for group scores. */
  inventory?: Readonly<Record<string, readonly string[]>>;
}

export interface HealthReportSummary {
  /** urgent (crit now or full soon) | attention | healthy | no-data: see the report's headline. */
  status: HealthReport['headline']['status'];
  /** The headline sentence: for urgent, the hosts, resources and days. */
  headline: string;
  score: number | null;
  hosts: number;
  reporting: number;
  unreachable: number;
  crit: number;
  warn: number;
  unknown: number;
  newCriticals: number;
  days: number;
  notes: string[];
}

export interface HealthReportOutcome {
  /** Absolute paths of the files written, in `format` order. */
  files: string[];
  /** The Markdown summary for the ticket comment (also when md is not among the files). */
  markdown: string;
  summary: HealthReportSummary;
}

/**
 * The `health.report` action: reads the journal, writes the report files, and returns the
 * Markdown for the runbook to post on the recurring ticket. "What changed" compares with the
 * previous JSON report in `outputDir` when there is one.
 */
export const healthReportAction = {
  name: 'health.report',
  description:
    'Health scores, trends, changes and headroom from inspection history: HTML dashboard, Markdown, JSON',
  withSchema: healthReportWithSchema,
  async run(ctx: HealthReportContext): Promise<HealthReportOutcome> {
    const opts = readWith(ctx.with);
    await makeDirectory(ctx.outputDir);
    const jsonFile = path.join(ctx.outputDir, `${REPORT_BASENAME}.json`);
    const previous = await previousReportTime(jsonFile, ctx.now);
    const report = await buildHealthReport({
      ...(ctx.store ? { store: ctx.store } : { stateDir: ctx.stateDir }),
      since: parseSince(opts.since, ctx.now),
      now: ctx.now,
      ...(ctx.inventory ? { inventory: ctx.inventory } : {}),
      ...(previous ? { previousReportAt: previous } : {}),
    });
    const markdown = renderMarkdown(report, { title: opts.title });
    const files: string[] = [];
    for (const format of opts.format) {
      const file = path.resolve(ctx.outputDir, `${REPORT_BASENAME}.${format}`);
      const text =
        format === 'html'
          ? await renderHtml(report, { title: opts.title })
          : format === 'md'
            ? markdown
            : renderJson(report);
      await writeFileAtomic(file, text, { mode: 0o644 });
      files.push(file);
    }
    return { files, markdown, summary: summarize(report) };
  },
};

export function summarize(report: HealthReport): HealthReportSummary {
  const e = report.environment;
  return {
    status: report.headline.status,
    headline: report.headline.text,
    score: e.score,
    hosts: e.hosts,
    reporting: e.reporting,
    unreachable: e.unreachable,
    crit: e.counts.crit,
    warn: e.counts.warn,
    unknown: e.counts.unknown,
    newCriticals: report.changes.newCriticals.length,
    days: report.days.length,
    notes: report.notes,
  };
}

function readWith(value: unknown): { since: string; format: ReportFormat[]; title?: string } {
  const w = (value ?? {}) as Record<string, unknown>;
  const bad = (message: string) =>
    new healthReportErrors.ValidationError(
      [{ file: 'with', line: 0, col: 0, message, rule: 'health-report-with' }],
      'REPORT_WITH_INVALID',
    );
  if (typeof w !== 'object' || Array.isArray(w)) throw bad('with: must be a mapping');
  const unknown = Object.keys(w).filter((k) => !(k in healthReportWithSchema.properties));
  if (unknown.length)
    throw bad(`unknown key(s) ${unknown.join(', ')}: health.report takes since, format, title`);
  const since = w.since ?? '30d';
  if (typeof since !== 'string' || !new RegExp(SINCE_PATTERN).test(since))
    throw bad('since must be a number of days such as 30d');
  const format = w.format ?? FORMATS;
  if (
    !Array.isArray(format) ||
    format.length === 0 ||
    format.some((f) => !FORMATS.includes(f)) ||
    new Set(format).size !== format.length
  ) {
    throw bad('format must be a non-empty list of distinct html, md, json');
  }
  if (
    w.title !== undefined &&
    (typeof w.title !== 'string' || w.title.length === 0 || w.title.length > 200)
  )
    throw bad('title must be 1 to 200 characters');
  return {
    since,
    format: format as ReportFormat[],
    ...(typeof w.title === 'string' ? { title: w.title } : {}),
  };
}

/** The time of the previous report, if an earlier JSON report sits where this one will go. */
async function previousReportTime(file: string, now: Date): Promise<Date | undefined> {
  try {
    const old = JSON.parse(await readFile(file, 'utf8')) as {
      kind?: unknown;
      generatedAt?: unknown;
    };
    const at = typeof old.generatedAt === 'string' ? new Date(old.generatedAt) : undefined;
    return old.kind === 'HealthReport' && at && !Number.isNaN(at.getTime()) && at < now
      ? at
      : undefined;
  } catch {
    // No previous report, or one we cannot read: compare with the day before instead.
    return undefined;
  }
}
