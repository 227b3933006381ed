import { escapeHtml as h } from './html-escape.js';
import type { ChartSeries, HeadroomEntry, HealthReport } from './report-schema.js';
import { dayNumber } from './utc-day.js';

/**
 * Disk, memory and load per host over time as inline SVG: drawn here, in the file, so the page
 * needs no script for them, prints as it shows, and weighs a few KB per host. A projected disk
 * or memory series is continued by its fitted line (dashed) to where it crosses 100 %, marked
 * with the day.
 */
export function renderResourceCharts(r: HealthReport): string {
  const { charts } = r;
  if (charts.hosts.length === 0) {
    return `<section id="resource-charts"><h2>Disk, memory and load over time</h2><p class="empty">${h(charts.rule)}</p></section>`;
  }
  const headroom = new Map(r.headroom.map((e) => [`${e.host}\u0000${e.resource}`, e]));
  const figures = charts.hosts.map((c) => {
    const last = dayNumber(r.days.at(-1)!);
    const end = Math.max(
      last,
      ...c.series.flatMap((s) => (s.projection ? [dayNumber(s.projection.to.day)] : [])),
    );
    const frame: Frame = { days: r.days, x0: dayNumber(r.days[0]!), last, x1: end };
    const of = (metric: ChartSeries['metric']) => c.series.filter((s) => s.metric === metric);
    const panels = [
      panel('Disk, % used', of('disk'), frame, c.host, headroom, 'percent'),
      panel('Memory, % used', of('memory'), frame, c.host, headroom, 'percent'),
      panel('Load per core', of('load'), frame, c.host, headroom, 'load'),
    ].join('');
    return `<figure class="host-chart" data-host="${h(c.host)}"><figcaption><b>${h(c.host)}</b> · ${h(c.why)}</figcaption><div class="panels">${panels}</div></figure>`;
  });
  return `<section id="resource-charts"><h2>Disk, memory and load over time</h2><p class="sub" id="charts-rule">${h(charts.rule)} Dashed: the fitted line, continued to 100 % where a projection is meaningful.</p>${figures.join('\n')}</section>`;
}

interface Frame {
  days: readonly string[];
  /** Day numbers: first day, last day with data, right edge (the furthest projection). */
  x0: number;
  last: number;
  x1: number;
}

const W = 340;
const H = 150;
const M = { left: 34, right: 14, top: 16, bottom: 22 };
const PALETTE = ['#0969da', '#8250df', '#1a7f37', '#b35900', '#bf3989', '#57606a'];

function panel(
  title: string,
  series: readonly ChartSeries[],
  frame: Frame,
  host: string,
  headroom: Map<string, HeadroomEntry>,
  scale: 'percent' | 'load',
): string {
  if (series.length === 0) return '';
  const values = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const thresholds = [
    ...new Set(series.flatMap((s) => (s.threshold === null ? [] : [s.threshold]))),
  ];
  const yMax =
    scale === 'percent'
      ? 100
      : niceCeil(Math.max(1, ...values, ...thresholds.map((t) => t * 1.25)));
  const span = Math.max(1, frame.x1 - frame.x0);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (day: number) => M.left + ((day - frame.x0) / span) * pw;
  const y = (v: number) => M.top + ph - (Math.min(Math.max(v, 0), yMax) / yMax) * ph;
  const parts: string[] = [];
  if (frame.x1 > frame.last) {
    parts.push(
      `<rect class="forecast" x="${f(x(frame.last))}" y="${M.top}" width="${f(x(frame.x1) - x(frame.last))}" height="${ph}" fill="#f3f5f7"/><text x="${f(x(frame.last) + 3)}" y="${M.top + ph - 4}" class="tick">forecast</text>`,
    );
  }
  for (const v of [0, yMax / 2, yMax]) {
    parts.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${f(y(v))}" y2="${f(y(v))}" stroke="#e4e7eb"/><text x="${M.left - 4}" y="${f(y(v) + 3)}" text-anchor="end" class="tick">${tickLabel(v)}</text>`,
    );
  }
  const xTicks = [...new Set([frame.x0, frame.last, frame.x1])];
  for (const d of xTicks) {
    const label = new Date(d * 86_400_000).toISOString().slice(5, 10);
    parts.push(
      `<text x="${f(x(d))}" y="${H - 6}" text-anchor="${d === frame.x0 ? 'start' : 'end'}" class="tick">${label}</text>`,
    );
  }
  if (scale === 'percent') {
    parts.push(
      `<line class="full" x1="${M.left}" x2="${W - M.right}" y1="${f(y(100))}" y2="${f(y(100))}" stroke="#c62828" stroke-width="1"/>`,
    );
  }
  for (const t of thresholds) {
    parts.push(
      `<line class="threshold" data-threshold="${t}" x1="${M.left}" x2="${W - M.right}" y1="${f(y(t))}" y2="${f(y(t))}" stroke="#b35900" stroke-dasharray="3 3"/><text x="${M.left + 3}" y="${f(y(t) - 3)}" class="tick">warn ${t}${scale === 'percent' ? '%' : ''}</text>`,
    );
  }
  const legend: string[] = [];
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const dayX = frame.days.map((d) => x(dayNumber(d)));
    parts.push(seriesPath(s, dayX, y, color));
    if (s.projection) parts.push(projectionPath(s.resource, s.projection, x, y, color, yMax));
    legend.push(legendItem(s, color, headroom.get(`${host}\u0000${s.resource}`)));
  });
  return `<div class="panel"><div class="panel-title">${h(title)}</div><svg class="usage" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${h(`${title} on ${host}`)}">${parts.join('')}</svg><ul class="series-legend">${legend.join('')}</ul></div>`;
}

/** The measured values as a line, broken where a day has none; a lone point as a dot. */
function seriesPath(
  s: ChartSeries,
  dayX: readonly number[],
  y: (v: number) => number,
  color: string,
): string {
  const runs: string[][] = [];
  let current: string[] = [];
  s.values.forEach((v, i) => {
    if (v === null) {
      if (current.length) runs.push(current);
      current = [];
    } else current.push(`${f(dayX[i]!)},${f(y(v))}`);
  });
  if (current.length) runs.push(current);
  const shapes = runs.map((pts) =>
    pts.length === 1
      ? `<circle cx="${pts[0]!.split(',')[0]}" cy="${pts[0]!.split(',')[1]}" r="2" fill="${color}"/>`
      : `<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="1.6"/>`,
  );
  return `<g class="series" data-resource="${h(s.resource)}">${shapes.join('')}</g>`;
}

/** The fitted line from the first day to its crossing of 100 % (or the chart's edge). */
function projectionPath(
  resource: string,
  p: NonNullable<ChartSeries['projection']>,
  x: (day: number) => number,
  y: (v: number) => number,
  color: string,
  yMax: number,
): string {
  const a = { x: dayNumber(p.from.day), v: p.from.value };
  const b = { x: dayNumber(p.to.day), v: p.to.value };
  const reaches = b.v >= yMax && b.v !== a.v;
  const end = reaches ? { x: a.x + ((yMax - a.v) * (b.x - a.x)) / (b.v - a.v), v: yMax } : b;
  const line = `<line x1="${f(x(a.x))}" y1="${f(y(a.v))}" x2="${f(x(end.x))}" y2="${f(y(end.v))}" stroke="${color}" stroke-width="1.4" stroke-dasharray="5 4"/>`;
  const label = reaches
    ? `<circle class="crossing" cx="${f(x(end.x))}" cy="${f(y(end.v))}" r="4" fill="#c62828"><title>full ~${p.fullOn}</title></circle><text x="${f(x(end.x) - 6)}" y="${f(y(end.v) - 4)}" text-anchor="end" class="tick crossing-label">full ~${p.fullOn.slice(5)}</text>`
    : `<text x="${f(x(end.x) - 2)}" y="${f(y(end.v) - 4)}" text-anchor="end" class="tick crossing-label">full ~${p.fullOn.slice(5)} →</text>`;
  return `<g class="projection" data-resource="${h(resource)}" data-full-on="${p.fullOn}" data-reaches="${reaches}">${line}${label}</g>`;
}

function legendItem(s: ChartSeries, color: string, entry: HeadroomEntry | undefined): string {
  const last = [...s.values].reverse().find((v) => v !== null);
  const unit = s.metric === 'load' ? '' : '%';
  const now = last === undefined || last === null ? 'no value' : `${last}${unit}`;
  const what =
    s.metric === 'load'
      ? s.threshold === null
        ? ''
        : `warn at ${s.threshold}`
      : entry?.status === 'projected'
        ? `full in ${entry.daysUntilFull} days (~${entry.fullOn}), +${entry.growthPerDay} pp/day, R² ${entry.r2}`
        : `no projection: ${entry?.reason ?? 'no data'}`;
  return `<li data-resource="${h(s.resource)}"><i style="background:${color}"></i>${h(s.resource)} ${h(now)}${what ? ` · <span class="fit">${h(what)}</span>` : ''}</li>`;
}

function niceCeil(v: number): number {
  const step = 10 ** Math.floor(Math.log10(v));
  return Math.ceil(v / (step / 2)) * (step / 2);
}

function tickLabel(v: number): string {
  return Number.isInteger(v) ? `${v}` : v.toFixed(1);
}

function f(n: number): string {
  return (Math.round(n * 10) / 10).toString();
}
