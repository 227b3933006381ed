import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import {
  type AlertActivity,
  alertsHtml,
  alertsMarkdown,
  computeAlertsSection,
} from './alerts-section.js';
import { healthReportSchema } from './report-schema.js';

const alertsSectionSchema = healthReportSchema.properties.alerts;

const until = new Date('2024-05-03T00:00:00Z');

const activity: AlertActivity = {
  days: [
    { day: '2024-05-01', firing: 120, resolved: 80 },
    { day: '2024-05-02', firing: 30, resolved: 60 },
  ],
  incidents: [
    // acknowledged after 30 min, resolved 2 h after it opened
    {
      id: 'INC-1',
      ticket: 'OPS-1',
      grade: 'P1',
      open: false,
      openedAt: '2024-05-01T10:00:00Z',
      assignedAt: '2024-05-01T10:00:10Z',
      proposedAt: '2024-05-01T10:30:10Z',
      resolvedAt: '2024-05-01T12:00:00Z',
    },
    {
      id: 'INC-2',
      ticket: 'OPS-2',
      grade: 'P3',
      open: true,
      openedAt: '2024-05-02T20:00:00Z',
      assignedAt: '2024-05-02T20:00:00Z',
    },
    {
      id: 'INC-3',
      ticket: 'OPS-3',
      grade: 'P1',
      open: false,
      openedAt: '2024-05-01T11:00:00Z',
      assignedAt: '2024-05-01T11:00:00Z',
      proposedAt: '2024-05-01T13:00:00Z',
      resolvedAt: '2024-05-01T11:20:00Z',
    },
    { id: 'INC-4', grade: 'P4', open: true, openedAt: '2024-05-02T23:00:00Z' },
  ],
};

describe('the alerts section of the health report', () => {
  it('counts alerts per day and incidents by grade, and times acknowledgement and resolution', () => {
    const s = computeAlertsSection(activity, until)!;
    expect(s).toMatchObject({
      firing: 150,
      resolved: 140,
      incidents: { opened: 4, open: 2, byGrade: { P1: 2, P2: 0, P3: 1, P4: 1 } },
      acknowledge: { count: 2, pending: 2, medianMinutes: 30, p90Minutes: 120 },
      resolve: { count: 2, pending: 2, medianMinutes: 20, p90Minutes: 120 },
      waiting: [{ incident: 'INC-2', ticket: 'OPS-2', grade: 'P3', minutes: 240 }],
    });
    const validate = new Ajv2020({ strict: false }).compile(alertsSectionSchema);
    expect(validate(s)).toBe(true);
  });

  it('is absent when there were no alerts and no incidents', () => {
    expect(computeAlertsSection({ days: [], incidents: [] }, until)).toBeUndefined();
    expect(alertsHtml(undefined)).toBe('');
  });

  it('reads as a few Markdown lines and an HTML section, the ticket keys escaped', () => {
    const s = computeAlertsSection(activity, until)!;
    expect(alertsMarkdown(s).join('\n')).toContain(
      '- Time to acknowledge (assigned → proposed): median 30 min, p90 2 h over 2 incident(s), 2 pending',
    );
    const html = alertsHtml({ ...s, waiting: [{ ...s.waiting[0]!, ticket: '<b>x' }] });
    expect(html).toContain('<section id="alerts">');
    expect(html).toContain('&lt;b&gt;x');
    expect(html).not.toContain('<b>x');
  });

  it('keeps a ticket key or incident id the store holds in its Markdown table cell: no link, no row', () => {
    const s = computeAlertsSection(activity, until)!;
    // The alert store is a database or a state dir someone else may write; the Markdown is
    // posted as a ticket comment (health.report), where a link or a forged row would pass as ours.
    const forged = '[OPS-9](https://evil.example) | P1 | 0 min |\n| INC-0';
    const md = alertsMarkdown({
      ...s,
      waiting: [{ ...s.waiting[0]!, incident: 'INC-2 | OPS-1', ticket: forged }],
    }).join('\n');
    const rows = md.split('\n').filter((l) => l.startsWith('| INC-'));
    expect(rows).toHaveLength(1);
    expect(rows[0]).not.toContain('](');
    expect(rows[0]!.replace(/\\\|/g, '').split('|')).toHaveLength(6);
  });
});
