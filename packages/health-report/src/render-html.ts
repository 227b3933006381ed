import { createHash } from 'node:crypto';
import { alertsHtml } from './alerts-section.js';
import { CLIENT_SCRIPT } from './html-client-script.js';
import { escapeHtml as h, jsonForScript } from './html-escape.js';
import { renderResourceCharts } from './html-resource-charts.js';
import {
  heatmapHosts,
  renderCards,
  renderChanges,
  renderFindings,
  renderGroups,
  renderHeadline,
  renderHeadroom,
  renderHeatmapSection,
  renderNotes,
  renderOffenders,
  renderProblems,
  renderTrendSection,
} from './html-sections.js';
import { REPORT_CSS } from './html-style.js';
import type { HealthReport } from './report-schema.js';

/** The groups drawn beside the environment in the trend chart: the lowest-scoring ones. */
const TREND_GROUPS = 4;

/**
 * One self-contained HTML file: uPlot (MIT) and the page's script are inlined, and a
 * Content-Security-Policy allows those two scripts by hash and nothing from the network, so the
 * page works offline and an injected script in host-controlled text could not run anyway.
 */
export async function renderHtml(
  report: HealthReport,
  options: { title?: string | undefined } = {},
): Promise<string> {
  // Loaded here, not at import: the chart library is 50 KB of text only HTML needs.
  const assets = await import('./generated/chart-assets.js');
  const title = options.title ?? 'Environment health';
  const data = chartData(report);
  const scripts = [assets.UPLOT_JS, CLIENT_SCRIPT];
  const csp = [
    "default-src 'none'",
    `script-src ${scripts.map(sha256Source).join(' ')}`,
    "style-src 'unsafe-inline'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${h(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="opsbook health-report">
<title>${h(title)} — ${h(report.generatedAt.slice(0, 10))}</title>
<style>${assets.UPLOT_CSS}</style>
<style>${REPORT_CSS}</style>
</head><body><main>
<h1>${h(title)}</h1>
<p class="sub">Generated ${h(report.generatedAt.replace('T', ' ').slice(0, 16))} UTC · results from ${h(report.range.since.slice(0, 10))} to ${h(report.range.until.slice(0, 10))} · ${report.days.length} day(s) with results</p>
${renderHeadline(report)}
${renderNotes(report)}
${renderCards(report)}
${renderResourceCharts(report)}
<div class="two">${renderTrendSection(report)}${renderOffenders(report)}</div>
${renderHeatmapSection(report)}
${renderChanges(report)}
${alertsHtml(report.alerts)}
${renderHeadroom(report)}
${renderGroups(report)}
${renderFindings(report)}
${renderProblems(report)}
<footer><p>Score per host = 100 × Σ weight(check) × factor(worst status of the check) / Σ weight(check); factors ok ${report.formula.severityFactors.ok}, unknown ${report.formula.severityFactors.unknown}, warn ${report.formula.severityFactors.warn}, crit ${report.formula.severityFactors.crit}. Group and environment scores are the mean of their hosts' scores. Days are UTC.</p>
<p>Charts drawn with ${h(assets.UPLOT_LICENSE)}</p></footer>
</main>
<script type="application/json" id="report-data">${jsonForScript(data)}</script>
${scripts.map((s) => `<script>${s}</script>`).join('\n')}
</body></html>
`;
}

function chartData(report: HealthReport) {
  const hosts = heatmapHosts(report);
  return {
    days: report.days,
    trend: report.trend.map((t) => t.score),
    groups: report.groups
      .filter((g) => g.score !== null)
      .slice(0, TREND_GROUPS)
      .map((g) => ({ name: g.group, daily: g.daily })),
    heat: { hosts: hosts.map((x) => x.host), scores: hosts.map((x) => x.daily) },
  };
}

function sha256Source(script: string): string {
  return `'sha256-${createHash('sha256').update(script, 'utf8').digest('base64')}'`;
}
