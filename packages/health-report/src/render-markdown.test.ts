import { describe, expect, it } from 'vitest';
import { computeReport } from './compute-report.js';
import type { History, InspectionSample } from './history.js';
import { escapeMd, MARKDOWN_LIMIT_BYTES, renderMarkdown } from './render-markdown.js';

const range = { since: new Date('2025-01-01T00:00:00Z'), until: new Date('2025-01-10T00:00:00Z') };

function history(samples: InspectionSample[]): History {
  return { runs: [], inspections: samples, facts: [], outcomes: [], problems: [] };
}

describe('renderMarkdown', () => {
  it('leads with the headline (urgency over the average), then urgent items, new criticals, top offenders', () => {
    const sample = (day: string, status: 'ok' | 'crit'): InspectionSample => ({
      at: `2025-01-0${day}T06:00:00.000Z`,
      runId: `r${day}`,
      host: 'db-01',
      action: 'inspection.disk',
      findings: [
        {
          host: 'db-01',
          check: 'inspection.disk',
          subject: '/',
          status,
          value: 97,
          threshold: 90,
          unit: '%',
          message: 'disk / 97% used',
        },
      ],
    });
    const md = renderMarkdown(
      computeReport(history([sample('1', 'ok'), sample('2', 'crit')]), { range, now: range.until }),
    );
    const headline =
      '**URGENT: db-01 inspection.disk / is critical: disk / 97% used. The average score 0/100 does not show this.**';
    expect(md.split('\n')[2]).toBe(headline);
    expect(md).toContain('Average score 0/100 · 1 hosts');
    const order = [
      headline,
      '### Urgent (1): crit now, or full within 14 days',
      '- `db-01` inspection.disk / — crit: disk / 97% used',
      '### New criticals (1)',
      '### Top offenders',
    ].map((s) => md.indexOf(s));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(md).toContain('- `db-01` inspection.disk / (was ok): disk / 97% used');
  });

  it('stays under 32 KB for a thousand failing hosts', () => {
    const samples: InspectionSample[] = [];
    for (let i = 0; i < 1000; i++) {
      const host = `host-${String(i).padStart(4, '0')}-${'x'.repeat(60)}`;
      for (const [day, status] of [
        ['1', 'ok'],
        ['2', 'crit'],
      ] as const) {
        samples.push({
          at: `2025-01-0${day}T06:00:00.000Z`,
          runId: `r${day}`,
          host,
          action: 'inspection.disk',
          findings: [
            {
              host,
              check: 'inspection.disk',
              subject: '/',
              status,
              value: 99,
              threshold: 90,
              unit: '%',
              message: 'y'.repeat(400),
            },
          ],
        });
      }
    }
    const md = renderMarkdown(computeReport(history(samples), { range, now: range.until }));
    expect(Buffer.byteLength(md)).toBeLessThanOrEqual(MARKDOWN_LIMIT_BYTES);
    expect(md).toContain('… and 980 more');
  });

  it('says there is nothing to score when there is no history', () => {
    const md = renderMarkdown(computeReport(history([]), { range, now: range.until }));
    expect(md).toContain('**No data: no host has inspection results in this range.**');
    expect(md).toContain('Average score no data');
    expect(md).toContain('No inspection results between');
  });

  it('keeps host-controlled text from becoming links or formatting', () => {
    expect(escapeMd('[click](https://evil.example) **x** | y\nz')).toBe(
      '\\[click\\]\\(https://evil.example\\) \\*\\*x\\*\\* \\| y z',
    );
  });

  it('shows control characters and bidi overrides as text, so that a terminal showing the Markdown obeys none', () => {
    const md = escapeMd('x\u001b[2J\u001b]8;;http://evil\u0007CLICK\u009b\u202eyb\tz\u0000');
    expect(md).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(md).toBe('x\\x1b\\[2J\\x1b\\]8;;http://evil\\x07CLICK\\x9b\\u202eyb\tz\\x00');
  });

  it('shows an invisible format character, so that one host name cannot pass for another', () => {
    expect(escapeMd('web-01\u200b')).toBe('web-01\\u200b');
    expect(escapeMd('a\u2066b\ufeff')).toBe('a\\u2066b\\ufeff');
  });
});
