import { closedObject } from '@opsbook/schema';
import type { FromSchema } from 'json-schema-to-ts';
import { escapeHtml as h } from './html-escape.js';
import { escapeMd } from './markdown-escape.js';

/*
 * The report's alerts section (issue #19): what the seniors' alert intake saw over the range —
 * alerts per day, the incidents they converged into, and how fast incidents were acknowledged
 * (ticket assigned → a fix proposed) and resolved (opened → its alerts all resolved). Optional:
 * a report of a team without alerts has no section.
 */

const count = { type: 'integer', minimum: 0 } as const;
const minutes = { type: ['number', 'null'] } as const;
const grade = { enum: ['P1', 'P2', 'P3', 'P4'] } as const;

/** Durations in minutes over the incidents that have one; null medians when none has. */
const durationStats = closedObject({
  /** Incidents with the duration. */
  count,
  /** Incidents of the range still without it (not proposed / not resolved yet). */
  pending: count,
  medianMinutes: minutes,
  p90Minutes: minutes,
});

export const alertsSectionSchema = closedObject({
  /** Alerts received per UTC day (each alert once; a resolution counts on its own). */
  days: {
    type: 'array',
    items: closedObject({ day: { type: 'string' }, firing: count, resolved: count }),
  },
  firing: count,
  resolved: count,
  /** Incidents opened in the range, by grade. */
  incidents: closedObject({
    opened: count,
    open: count,
    byGrade: closedObject({ P1: count, P2: count, P3: count, P4: count }),
  }),
  /** Ticket assigned → a fix proposed on it (`opsbook ticket propose`). */
  acknowledge: durationStats,
  /** Incident opened → its alerts all resolved. */
  resolve: durationStats,
  /** Incidents of the range not acknowledged yet, longest waiting first (at most 10). */
  waiting: {
    type: 'array',
    items: closedObject(
      {
        incident: { type: 'string' },
        ticket: { type: ['string', 'null'] },
        grade,
        /** Minutes since its ticket was assigned, at the end of the range. */
        minutes: { type: 'number' },
      },
      [],
    ),
  },
});

export type AlertsSection = FromSchema<typeof alertsSectionSchema>;

/** What the CLI gathers for the section: the alert store's counts and each incident's times. */
export interface AlertActivity {
  days: readonly { day: string; firing: number; resolved: number }[];
  incidents: readonly {
    id: string;
    ticket?: string | undefined;
    grade: 'P1' | 'P2' | 'P3' | 'P4';
    open: boolean;
    openedAt: string;
    /** When its ticket was made and assigned. */
    assignedAt?: string | undefined;
    /** When a fix was first proposed on the ticket. */
    proposedAt?: string | undefined;
    /** When its alerts had all resolved. */
    resolvedAt?: string | undefined;
  }[];
}

const WAITING_LISTED = 10;

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const at = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return Math.round(sorted[Math.max(0, at)]! * 10) / 10;
}

function stats(values: number[], pending: number): AlertsSection['acknowledge'] {
  const sorted = values.sort((a, b) => a - b);
  return {
    count: sorted.length,
    pending,
    medianMinutes: quantile(sorted, 0.5),
    p90Minutes: quantile(sorted, 0.9),
  };
}

const minutesBetween = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 60_000;

/** The section for [.., until], or undefined when there were no alerts and no incidents. */
export function computeAlertsSection(
  activity: AlertActivity,
  until: Date,
): AlertsSection | undefined {
  const firing = activity.days.reduce((n, d) => n + d.firing, 0);
  const resolved = activity.days.reduce((n, d) => n + d.resolved, 0);
  if (firing + resolved === 0 && activity.incidents.length === 0) return undefined;
  const byGrade = { P1: 0, P2: 0, P3: 0, P4: 0 };
  const acknowledged: number[] = [];
  const resolvedIn: number[] = [];
  const waiting: AlertsSection['waiting'] = [];
  for (const i of activity.incidents) {
    byGrade[i.grade]++;
    if (i.assignedAt && i.proposedAt) acknowledged.push(minutesBetween(i.assignedAt, i.proposedAt));
    else if (i.assignedAt)
      waiting.push({
        incident: i.id,
        ticket: i.ticket ?? null,
        grade: i.grade,
        minutes: Math.round(minutesBetween(i.assignedAt, until.toISOString())),
      });
    if (i.resolvedAt) resolvedIn.push(minutesBetween(i.openedAt, i.resolvedAt));
  }
  waiting.sort((a, b) => a.grade.localeCompare(b.grade) || b.minutes - a.minutes);
  const count = activity.incidents.length;
  return {
    days: activity.days.map((d) => ({ ...d })),
    firing,
    resolved,
    incidents: { opened: count, open: activity.incidents.filter((i) => i.open).length, byGrade },
    acknowledge: stats(acknowledged, count - acknowledged.length),
    resolve: stats(resolvedIn, count - resolvedIn.length),
    waiting: waiting.slice(0, WAITING_LISTED),
  };
}

/** `42 min`, `3.5 h`, `2.1 d`; `—` for none. */
export function formatMinutes(value: number | null): string {
  if (value === null) return '—';
  if (value < 90) return `${Math.round(value)} min`;
  if (value < 48 * 60) return `${Math.round(value / 6) / 10} h`;
  return `${Math.round(value / 144) / 10} d`;
}

function durationLine(s: AlertsSection['acknowledge']): string {
  return s.count === 0
    ? `none yet (${s.pending} pending)`
    : `median ${formatMinutes(s.medianMinutes)}, p90 ${formatMinutes(s.p90Minutes)} over ${s.count} incident(s)${s.pending ? `, ${s.pending} pending` : ''}`;
}

/** The section as Markdown lines (the ticket comment of a report). */
export function alertsMarkdown(s: AlertsSection): string[] {
  const g = s.incidents.byGrade;
  const lines = [
    '',
    '### Alerts and incidents',
    '',
    `${s.firing} alert(s) fired and ${s.resolved} resolved over ${s.days.length} day(s) · ${s.incidents.opened} incident(s) (P1 ${g.P1}, P2 ${g.P2}, P3 ${g.P3}, P4 ${g.P4}), ${s.incidents.open} still open`,
    '',
    `- Time to acknowledge (assigned → proposed): ${durationLine(s.acknowledge)}`,
    `- Time to resolve (opened → alerts resolved): ${durationLine(s.resolve)}`,
  ];
  if (s.waiting.length) {
    lines.push('', '| incident | ticket | grade | waiting |', '|---|---|---|---:|');
    for (const w of s.waiting)
      lines.push(
        `| ${escapeMd(w.incident)} | ${escapeMd(w.ticket ?? '—')} | ${w.grade} | ${formatMinutes(w.minutes)} |`,
      );
  }
  return lines;
}

/** The section as HTML (no script: the numbers and a per-day table). */
export function alertsHtml(s: AlertsSection | undefined): string {
  if (!s) return '';
  const g = s.incidents.byGrade;
  const rows = (cells: string[][]) =>
    cells.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('');
  const waiting = s.waiting.length
    ? `<h3>Not acknowledged yet</h3><table><thead><tr><th scope="col">Incident</th><th scope="col">Ticket</th><th scope="col">Grade</th><th scope="col">Waiting</th></tr></thead><tbody>${rows(
        s.waiting.map((w) => [
          h(w.incident),
          h(w.ticket ?? '—'),
          h(w.grade),
          formatMinutes(w.minutes),
        ]),
      )}</tbody></table>`
    : '';
  return `<section id="alerts"><h2>Alerts and incidents</h2>
<p>${s.firing} alert(s) fired and ${s.resolved} resolved · ${s.incidents.opened} incident(s): P1 ${g.P1}, P2 ${g.P2}, P3 ${g.P3}, P4 ${g.P4} · ${s.incidents.open} still open</p>
<p>Time to acknowledge (assigned → proposed): ${h(durationLine(s.acknowledge))}<br>Time to resolve (opened → alerts resolved): ${h(durationLine(s.resolve))}</p>
<table><thead><tr><th scope="col">Day (UTC)</th><th scope="col">Fired</th><th scope="col">Resolved</th></tr></thead><tbody>${rows(
    s.days.map((d) => [h(d.day), `${d.firing}`, `${d.resolved}`]),
  )}</tbody></table>${waiting}</section>`;
}
