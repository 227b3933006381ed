import { alertsMarkdown } from './alerts-section.js';
import { countUnprojected, describeFitRule } from './headroom.js';
import { escapeMd } from './markdown-escape.js';
import type { FindingChange, HealthReport } from './report-schema.js';

export { escapeMd };

/** Jira Cloud refuses comments past 32 767 characters; stay under it in bytes, to be safe. */
export const MARKDOWN_LIMIT_BYTES = 32 * 1024;

const LIST = { urgent: 20, newCriticals: 20, offenders: 10, changes: 10, headroom: 10, groups: 10 };
const MESSAGE_CHARS = 160;

/**
 * A short Markdown summary for a ticket comment: the headline (urgency before the average
 * score), the urgent items, then new criticals and top offenders (what a senior acts on), then
 * the rest. Every list is capped, and the
 * whole text is cut at MARKDOWN_LIMIT_BYTES with a line that says so.
 */
export function renderMarkdown(
  report: HealthReport,
  options: { title?: string | undefined } = {},
): string {
  const env = report.environment;
  const lines: string[] = [
    `## ${escapeMd(options.title ?? 'Environment health')} — ${report.generatedAt.slice(0, 10)}`,
    '',
    `**${escapeMd(report.headline.text)}**`,
    '',
    `Average score ${fmtScore(env.score)} · ${env.hosts} hosts (${env.reporting} reporting, ${env.unreachable} unreachable${env.noData ? `, ${env.noData} without inspection` : ''}) · ${env.counts.crit} crit · ${env.counts.warn} warn · ${env.counts.unknown} unknown · ${report.range.since.slice(0, 10)} → ${report.range.until.slice(0, 10)}`,
  ];
  if (report.notes.length > 0) lines.push('', ...report.notes.map((n) => `> ${escapeMd(n)}`));
  const { urgent, urgentDays } = report.headline;
  section(
    lines,
    `Urgent (${urgent.length}): crit now, or full within ${urgentDays} days`,
    urgent,
    LIST.urgent,
    (u) =>
      `- ${code(u.host)} ${escapeMd(u.what)} — ${u.reason === 'crit' ? 'crit' : `full in ${u.days} days`}: ${escapeMd(clip(u.message))}`,
  );
  const c = report.changes;
  section(
    lines,
    `New criticals (${c.newCriticals.length})`,
    c.newCriticals,
    LIST.newCriticals,
    changeLine,
  );
  if (report.topOffenders.length > 0) {
    lines.push(
      '',
      '### Top offenders',
      '',
      '| host | score | crit | warn | worst |',
      '|---|---:|---:|---:|---|',
    );
    for (const o of report.topOffenders.slice(0, LIST.offenders)) {
      lines.push(
        `| ${code(o.host)} | ${o.score} | ${o.counts.crit} | ${o.counts.warn} | ${escapeMd(clip(o.worst[0] ?? ''))} |`,
      );
    }
  }
  section(
    lines,
    `Hosts worsening (${c.hostsWorsening.length})`,
    c.hostsWorsening,
    LIST.changes,
    (h) => `- ${code(h.host)} ${h.from} → ${h.to}`,
  );
  section(lines, `Worsened findings (${c.worsened.length})`, c.worsened, LIST.changes, changeLine);
  section(lines, `Recovered (${c.recovered.length})`, c.recovered, LIST.changes, changeLine);
  headroomSection(lines, report);
  if (report.groups.length > 0) {
    lines.push(
      '',
      '### Groups',
      '',
      report.groups
        .slice(0, LIST.groups)
        .map((g) => `${code(g.group)} ${fmtScore(g.score)}`)
        .join(' · '),
    );
  }
  if (report.alerts) lines.push(...alertsMarkdown(report.alerts));
  lines.push(
    '',
    `_Score: 100 × Σ weight·factor / Σ weight per host (factors ok ${f(report, 'ok')}, unknown ${f(report, 'unknown')}, warn ${f(report, 'warn')}, crit ${f(report, 'crit')}); environment = mean of host scores._`,
  );
  return fitToLimit(lines.join('\n'));
}

function headroomSection(lines: string[], report: HealthReport): void {
  const { headroom } = report;
  if (headroom.length === 0) return;
  const projected = headroom.filter((h) => h.status === 'projected');
  lines.push('', '### Headroom (nearest to full)', '');
  if (projected.length > 0) {
    lines.push(
      '| host | resource | used | growth/day | R² | full in |',
      '|---|---|---:|---:|---:|---:|',
      ...projected
        .slice(0, LIST.headroom)
        .map(
          (h) =>
            `| ${code(h.host)} | ${escapeMd(h.resource)} | ${h.lastPercent}% | +${h.growthPerDay} pp | ${h.r2} | ${h.daysUntilFull} d (~${h.fullOn}) |`,
        ),
    );
    if (projected.length > LIST.headroom)
      lines.push('', `… and ${projected.length - LIST.headroom} more (see the HTML report)`);
  } else {
    lines.push('No disk or memory use is projected to fill up.');
  }
  const rest = headroom.filter((h) => h.status !== 'projected');
  if (rest.length === 0) return;
  const fullest = [...rest].sort((a, b) => b.lastPercent - a.lastPercent).slice(0, 5);
  lines.push(
    '',
    `Not projected (${rest.length}: ${countUnprojected(rest)}); a projection needs ${describeFitRule(report.fitRule)}. Fullest first:`,
    '',
    ...fullest.map(
      (h) =>
        `- ${code(h.host)} ${escapeMd(h.resource)} ${h.lastPercent}%: ${escapeMd(h.reason ?? '')}`,
    ),
  );
}

function section<T>(
  lines: string[],
  title: string,
  items: readonly T[],
  limit: number,
  line: (item: T) => string,
): void {
  if (items.length === 0) return;
  lines.push('', `### ${title}`, '', ...items.slice(0, limit).map(line));
  if (items.length > limit)
    lines.push(`- … and ${items.length - limit} more (see the HTML report)`);
}

function changeLine(c: FindingChange): string {
  const what = `${c.check}${c.subject ? ` ${c.subject}` : ''}`;
  const was = c.from === null ? 'new' : `was ${c.from}`;
  return `- ${code(c.host)} ${escapeMd(what)} (${was}): ${escapeMd(clip(c.message))}`;
}

function fitToLimit(text: string): string {
  if (Buffer.byteLength(text) <= MARKDOWN_LIMIT_BYTES) return text;
  const tail = '\n\n_(cut to fit a ticket comment: the HTML and JSON reports hold everything)_';
  const budget = MARKDOWN_LIMIT_BYTES - Buffer.byteLength(tail);
  const kept: string[] = [];
  let size = 0;
  for (const line of text.split('\n')) {
    const n = Buffer.byteLength(line) + 1;
    if (size + n > budget) break;
    kept.push(line);
    size += n;
  }
  return kept.join('\n') + tail;
}

function f(report: HealthReport, s: 'ok' | 'warn' | 'crit' | 'unknown'): number {
  return report.formula.severityFactors[s];
}

function fmtScore(score: number | null): string {
  return score === null ? 'no data' : `${score}/100`;
}

function clip(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > MESSAGE_CHARS ? `${one.slice(0, MESSAGE_CHARS - 1)}…` : one;
}

function code(text: string): string {
  return `\`${text.replace(/[`\r\n]/g, '')}\``;
}
