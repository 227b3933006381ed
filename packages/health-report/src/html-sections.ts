import { countUnprojected, describeFitRule } from './headroom.js';
import { escapeHtml as h } from './html-escape.js';
import type { FindingChange, HealthReport, ReportFinding } from './report-schema.js';
import { severityRank } from './score-formula.js';

/** Past this many rows the findings table keeps every non-ok finding and drops ok ones. */
export const FINDINGS_ROW_LIMIT = 5000;
/** The heat map shows this many hosts, the lowest-scoring first. */
export const HEATMAP_HOSTS = 100;
/** The headline lists this many urgent items. */
const URGENT_LISTED = 20;
/** The headroom tables list this many series each. */
const HEADROOM_ROWS = 30;

/** Above everything: the status and, when urgent, what is urgent (crit now, or full soon). */
export function renderHeadline(r: HealthReport): string {
  const { status, text, urgent, urgentDays } = r.headline;
  const items = urgent
    .slice(0, URGENT_LISTED)
    .map(
      (u) =>
        `<li><b>${h(u.host)}</b> ${h(u.what)}: ${u.reason === 'crit' ? '<span class="badge crit">crit</span>' : `full in <b>${u.days}</b> days`} — ${h(u.message)}</li>`,
    );
  const more =
    urgent.length > URGENT_LISTED
      ? `<li>… and ${urgent.length - URGENT_LISTED} more (the JSON report lists all)</li>`
      : '';
  const list = items.length
    ? `<ul>${items.join('')}${more}</ul><p class="sub">Urgent: a crit finding in a host's latest results, or disk or memory predicted full within ${urgentDays} days.</p>`
    : '';
  return `<section class="headline ${status}" id="headline" data-status="${status}"><p class="headline-text">${h(text)}</p>${list}</section>`;
}

export function renderCards(r: HealthReport): string {
  const e = r.environment;
  // An average must not look green beside an urgent item.
  const scoreCls =
    r.headline.status === 'urgent' && scoreClass(e.score) === 's-ok' ? '' : scoreClass(e.score);
  const nearest = r.headroom.find((x) => x.status === 'projected');
  const card = (label: string, value: string, hint: string, cls = '') =>
    `<div class="card"><div class="label">${h(label)}</div><div class="value ${cls}">${value}</div><div class="hint">${hint}</div></div>`;
  return `<section class="cards">${[
    card(
      'Average score',
      e.score === null ? 'no data' : `${e.score}`,
      r.headline.status === 'urgent' ? 'out of 100 · urgent items above' : 'out of 100',
      scoreCls,
    ),
    card(
      'Hosts',
      `${e.reporting}/${e.hosts}`,
      `reporting · ${e.unreachable} unreachable${e.noData ? ` · ${e.noData} no inspection` : ''}`,
    ),
    card(
      'Critical',
      `${e.counts.crit}`,
      `${r.changes.newCriticals.length} new since last report`,
      e.counts.crit ? 's-crit' : '',
    ),
    card(
      'Warning',
      `${e.counts.warn}`,
      `${r.changes.worsened.length} worsened · ${r.changes.recovered.length} recovered`,
      e.counts.warn ? 's-warn' : '',
    ),
    card(
      'Unknown',
      `${e.counts.unknown}`,
      `${r.unknownOnly.length} check(s) only unknown`,
      e.counts.unknown ? 's-unknown' : '',
    ),
    card(
      'Nearest full',
      nearest ? `${nearest.daysUntilFull} d` : '—',
      nearest ? h(`${nearest.host} ${nearest.resource}`) : 'nothing growing toward full',
    ),
  ].join('')}</section>`;
}

export function renderNotes(r: HealthReport): string {
  if (r.notes.length === 0) return '';
  return `<section class="notes" id="notes">${r.notes.map((n) => `<p>${h(n)}</p>`).join('')}</section>`;
}

export function renderTrendSection(r: HealthReport): string {
  const body =
    r.days.length >= 2
      ? '<div id="trend" class="chart"></div>'
      : `<p class="empty">No trend to draw: ${r.days.length === 0 ? 'no day in this range has inspection results' : `only ${h(r.days[0])} has inspection results`}.</p>`;
  return `<section><h2>Score trend</h2>${body}</section>`;
}

export function renderHeatmapSection(r: HealthReport): string {
  const shown = heatmapHosts(r);
  if (r.days.length === 0 || shown.length === 0) {
    return '<section><h2>Hosts by day</h2><p class="empty">No host has inspection results in this range: no heat map to draw.</p></section>';
  }
  const reporting = r.hosts.filter((x) => x.state === 'reporting').length;
  const more =
    reporting > shown.length
      ? ` Showing the ${shown.length} lowest-scoring of ${reporting} reporting hosts; the JSON report has all.`
      : '';
  return `<section><h2>Hosts by day</h2><p class="sub">Daily score per host, lowest current score first.${more}</p>
<div id="heatmap-wrap"><canvas id="heatmap" role="img" aria-label="heat map of daily host scores"></canvas><div id="heat-tip"></div></div>
<div class="legend"><span><i style="background:#1a7f37"></i>95–100</span><span><i style="background:#7cc36e"></i>85–95</span><span><i style="background:#e3c13b"></i>70–85</span><span><i style="background:#f08c2e"></i>50–70</span><span><i style="background:#c62828"></i>below 50</span><span><i style="background:#e4e7eb"></i>no result</span></div></section>`;
}

export function heatmapHosts(r: HealthReport): HealthReport['hosts'] {
  return r.hosts
    .filter((x) => x.state === 'reporting')
    .sort((a, b) => (a.score ?? 101) - (b.score ?? 101) || a.host.localeCompare(b.host))
    .slice(0, HEATMAP_HOSTS);
}

export function renderChanges(r: HealthReport): string {
  const c = r.changes;
  if (c.baseline === null) {
    return '<section><h2>What changed</h2><p class="empty">No earlier state in this range to compare with.</p></section>';
  }
  const list = (title: string, items: FindingChange[]) =>
    `<div><h3>${h(title)} (${items.length})</h3>${
      items.length === 0
        ? '<p class="empty">none</p>'
        : table(
            ['Host', 'Check', 'Was', 'Now', 'Message'],
            items
              .slice(0, 50)
              .map((x) => [
                h(x.host),
                h(check(x)),
                x.from ? badge(x.from) : 'new',
                badge(x.to),
                h(x.message),
              ]),
          )
    }</div>`;
  const hosts = c.hostsWorsening.length
    ? table(
        ['Host', 'Score was', 'Score now'],
        c.hostsWorsening.slice(0, 50).map((x) => [h(x.host), `${x.from}`, `${x.to}`]),
      )
    : '<p class="empty">no host lost 5 points or more</p>';
  return `<section><h2>What changed since ${h(c.baseline.slice(0, 16).replace('T', ' '))} UTC</h2>
${list('New criticals', c.newCriticals)}${list('Worsened', c.worsened)}${list('Recovered', c.recovered)}<h3>Hosts worsening</h3>${hosts}</section>`;
}

export function renderOffenders(r: HealthReport): string {
  const body = r.topOffenders.length
    ? table(
        ['Host', 'Score', 'Crit', 'Warn', 'Worst findings'],
        r.topOffenders.map((o) => [
          h(o.host),
          `<span class="${scoreClass(o.score)}">${o.score}</span>`,
          `${o.counts.crit}`,
          `${o.counts.warn}`,
          o.worst.map(h).join('<br>'),
        ]),
      )
    : '<p class="empty">Every reporting host scores 100.</p>';
  return `<section><h2>Top offenders</h2>${body}</section>`;
}

export function renderHeadroom(r: HealthReport): string {
  const projected = r.headroom.filter((x) => x.status === 'projected');
  const rest = r.headroom
    .filter((x) => x.status !== 'projected')
    .sort((a, b) => b.lastPercent - a.lastPercent || a.host.localeCompare(b.host));
  if (r.headroom.length === 0) {
    return '<section id="headroom"><h2>Resource headroom</h2><p class="empty">No disk or memory usage was measured in this range.</p></section>';
  }
  const body = projected.length
    ? table(
        ['Host', 'Resource', 'Used', 'Growth / day', 'R²', 'Full in'],
        projected
          .slice(0, HEADROOM_ROWS)
          .map((x) => [
            h(x.host),
            h(x.resource),
            `${x.lastPercent}%`,
            `+${x.growthPerDay} pp`,
            `${x.r2}`,
            `${x.daysUntilFull} days (~${h(x.fullOn ?? '')})`,
          ]),
      )
    : '<p class="empty">No disk or memory usage is projected to fill up: see below why.</p>';
  const unprojected = rest.length
    ? `<h3>Not projected (${rest.length}: ${h(countUnprojected(rest))})</h3><p class="sub">A projection needs ${h(describeFitRule(r.fitRule))}; the fullest first${rest.length > HEADROOM_ROWS ? `, ${HEADROOM_ROWS} of ${rest.length} (the JSON report has all)` : ''}.</p>${table(
        ['Host', 'Resource', 'Used', 'Points', 'Why not'],
        rest
          .slice(0, HEADROOM_ROWS)
          .map((x) => [
            h(x.host),
            h(x.resource),
            `${x.lastPercent}%`,
            `${x.points}`,
            h(x.reason ?? ''),
          ]),
      )}`
    : '';
  return `<section id="headroom"><h2>Resource headroom</h2>${body}${unprojected}</section>`;
}

export function renderGroups(r: HealthReport): string {
  if (r.groups.length === 0) return '';
  return `<section><h2>Groups</h2>${table(
    ['Group', 'Score', 'Hosts', 'Reporting'],
    r.groups.map((g) => [
      h(g.group),
      g.score === null ? 'no data' : `<span class="${scoreClass(g.score)}">${g.score}</span>`,
      `${g.hosts}`,
      `${g.reporting}`,
    ]),
  )}</section>`;
}

export function renderFindings(r: HealthReport): string {
  if (r.findings.length === 0) {
    return '<section><h2>Findings</h2><p class="empty">No findings in this range.</p></section>';
  }
  const rows = pickRows(r.findings);
  const dropped = r.findings.length - rows.length;
  const head = ['Status', 'Host', 'Check', 'Subject', 'Value', 'Message', 'Reported'];
  const body = rows
    .map((f) => {
      const num = typeof f.value === 'number' ? ` data-v="${f.value}"` : '';
      return `<tr><td data-v="${severityRank[f.status]}">${badge(f.status)}</td><td>${h(f.host)}</td><td>${h(f.check)}</td><td>${h(f.subject ?? '')}</td><td class="num"${num}>${h(value(f))}</td><td>${h(f.message)}</td><td>${h(f.at.slice(0, 16).replace('T', ' '))}</td></tr>`;
    })
    .join('\n');
  return `<section><h2>Findings</h2><p class="sub">The newest result of every check on every host, worst first. Click a header to sort.${dropped ? ` ${dropped} ok findings are left out to keep the file small; the JSON report has them.` : ''}</p>
<div class="filter"><input id="findings-filter" type="search" placeholder="Filter: host, check, message…" aria-label="filter findings"><span id="findings-count" class="count">${rows.length} shown</span></div>
<table id="findings" class="sortable"><thead><tr>${head.map((x) => `<th scope="col">${x}</th>`).join('')}</tr></thead><tbody>
${body}
</tbody></table></section>`;
}

export function renderProblems(r: HealthReport): string {
  if (r.problems.length === 0) return '';
  return `<section><h2>Unreadable journal parts</h2>${table(
    ['File', 'Line', 'Problem'],
    r.problems.map((p) => [h(p.file), `${p.line}`, h(p.message)]),
  )}</section>`;
}

function pickRows(findings: readonly ReportFinding[]): readonly ReportFinding[] {
  if (findings.length <= FINDINGS_ROW_LIMIT) return findings;
  const notOk = findings.filter((f) => f.status !== 'ok');
  return [
    ...notOk,
    ...findings
      .filter((f) => f.status === 'ok')
      .slice(0, Math.max(0, FINDINGS_ROW_LIMIT - notOk.length)),
  ];
}

function table(head: string[], rows: string[][]): string {
  return `<table><thead><tr>${head.map((x) => `<th scope="col">${x}</th>`).join('')}</tr></thead><tbody>${rows
    .map((row) => `<tr>${row.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function badge(status: string): string {
  return `<span class="badge ${h(status)}">${h(status)}</span>`;
}

function check(x: { check: string; subject?: string }): string {
  return x.subject ? `${x.check} ${x.subject}` : x.check;
}

function value(f: ReportFinding): string {
  if (f.value === null) return '—';
  return `${f.value}${f.unit && f.unit !== 'count' ? ` ${f.unit}` : ''}`;
}

export function scoreClass(score: number | null): string {
  if (score === null) return 's-unknown';
  return score >= 90 ? 's-ok' : score >= 60 ? 's-warn' : 's-crit';
}
