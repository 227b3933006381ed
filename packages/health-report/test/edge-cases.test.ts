import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterEach, describe, expect, it } from 'vitest';
import { buildHealthReport, renderHtml, renderMarkdown } from '../src/index.js';
import { journalText, writeRuns } from './journal-fixture.js';

const now = new Date('2025-03-04T00:00:00Z');
const since = new Date('2025-02-01T00:00:00Z');
const temps: Array<{ remove: () => Promise<void> }> = [];
async function stateDir(): Promise<string> {
  const t = await makeTempDir('opsbook-health-edge-');
  temps.push(t);
  return t.dir;
}
afterEach(async () => {
  await Promise.all(temps.splice(0).map((t) => t.remove()));
});

describe('reports on thin or damaged history say so instead of failing', () => {
  it('no history at all: no score, no charts, a plain sentence', async () => {
    const report = await buildHealthReport({ stateDir: await stateDir(), since, now });
    expect(report.environment.score).toBeNull();
    expect(report.days).toEqual([]);
    expect(report.notes[0]).toMatch(
      /^No inspection results between 2025-02-01T00:00:00.000Z and 2025-03-04T00:00:00.000Z: there is nothing to score/,
    );
    const html = await renderHtml(report);
    expect(html).toContain('No trend to draw: no day in this range has inspection results.');
    expect(html).toContain('no heat map to draw');
    expect(html).not.toContain('id="trend"');
    expect(html).not.toContain('id="heatmap"');
    expect(renderMarkdown(report)).toContain('nothing to score');
  });

  it('a host that never answered has no score and is named', async () => {
    const dir = await stateDir();
    await writeRuns(dir, [
      { runId: 'r1', at: '2025-03-01T06:00:00Z', hosts: [{ host: 'ghost-01' }] },
    ]);
    const report = await buildHealthReport({ stateDir: dir, since, now });
    expect(report.hosts).toEqual([
      {
        host: 'ghost-01',
        groups: [],
        state: 'unreachable',
        score: null,
        lastSeen: null,
        answeredLastRun: false,
        counts: { ok: 0, warn: 0, crit: 0, unknown: 0 },
        daily: [],
      },
    ]);
    expect(report.environment).toMatchObject({
      score: null,
      hosts: 1,
      reporting: 0,
      unreachable: 1,
    });
    expect(report.notes).toContain(
      '1 host never answered in this range and has no score: ghost-01.',
    );
    expect(await renderHtml(report)).toContain('ghost-01');
  });

  it('a host that answered before but not in the latest run is flagged', async () => {
    const dir = await stateDir();
    const ok = { check: 'inspection.load', status: 'ok' as const, message: 'fine', value: 0.1 };
    await writeRuns(dir, [
      { runId: 'r1', at: '2025-03-01T06:00:00Z', hosts: [{ host: 'web-01', findings: [ok] }] },
      { runId: 'r2', at: '2025-03-02T06:00:00Z', hosts: [{ host: 'web-01' }] },
    ]);
    const report = await buildHealthReport({ stateDir: dir, since, now });
    expect(report.hosts[0]).toMatchObject({
      state: 'reporting',
      score: 100,
      answeredLastRun: false,
    });
    expect(report.notes).toContain(
      '1 host did not answer the latest run; its score is from older results: web-01.',
    );
  });

  it('a check that only reported unknown is called out, and scores 80 on its own', async () => {
    const dir = await stateDir();
    const unknown = {
      check: 'inspection.time-sync',
      subject: 'chrony',
      status: 'unknown' as const,
      message: 'chronyc not found',
    };
    await writeRuns(dir, [
      { runId: 'r1', at: '2025-03-01T06:00:00Z', hosts: [{ host: 'app-01', findings: [unknown] }] },
      { runId: 'r2', at: '2025-03-02T06:00:00Z', hosts: [{ host: 'app-01', findings: [unknown] }] },
    ]);
    const report = await buildHealthReport({ stateDir: dir, since, now });
    expect(report.hosts[0]!.score).toBe(80);
    expect(report.unknownOnly).toEqual([
      { host: 'app-01', check: 'inspection.time-sync', subject: 'chrony' },
    ]);
    expect(report.notes).toContain(
      '1 check reported only "unknown" in this range, so nothing was measured: inspection.time-sync (chrony) on app-01.',
    );
    expect(report.headroom).toEqual([]);
    expect(await renderHtml(report)).toContain(
      'No disk or memory usage was measured in this range.',
    );
  });

  it('only one day of results: no trend chart, and it says why', async () => {
    const dir = await stateDir();
    await writeRuns(dir, [
      {
        runId: 'r1',
        at: '2025-03-01T06:00:00Z',
        hosts: [
          { host: 'a', findings: [{ check: 'inspection.load', status: 'ok', message: 'ok' }] },
        ],
      },
    ]);
    const report = await buildHealthReport({ stateDir: dir, since, now });
    expect(report.notes).toContain(
      'Only one day (2025-03-01) has inspection results: there is no trend yet.',
    );
    expect(report.changes.baseline).toBeNull();
    const html = await renderHtml(report);
    expect(html).toContain('No trend to draw: only 2025-03-01 has inspection results.');
    expect(html).toContain('id="heatmap"');
  });

  it('skips malformed lines and unreadable files, reports them, and keeps the rest', async () => {
    const dir = await stateDir();
    const good = journalText({
      runId: 'good',
      at: '2025-03-01T06:00:00Z',
      hosts: [
        {
          host: 'a',
          findings: [{ check: 'inspection.load', status: 'warn', message: 'busy', value: 2 }],
        },
      ],
    });
    const lines = good.split('\n');
    lines.splice(2, 0, '{"type":"step-end", truncated', 'not json at all', '[1,2]');
    await mkdir(path.join(dir, 'runs'), { recursive: true });
    await writeFile(path.join(dir, 'runs', 'good.jsonl'), lines.join('\n'));
    await writeFile(
      path.join(dir, 'runs', 'binary.jsonl'),
      Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x0a, 0xc3]),
    );
    await mkdir(path.join(dir, 'runs', 'a-directory.jsonl'));
    const badShape = JSON.stringify({
      at: '2025-03-01T07:00:00Z',
      type: 'step-end',
      host: 'a',
      uses: 'inspection.disk',
      result: {
        findings: [{ host: 'a', check: 'inspection.disk', status: 'dreadful', message: 1 }],
      },
    });
    await writeFile(path.join(dir, 'runs', 'shape.jsonl'), `${badShape}\n`);
    const report = await buildHealthReport({ stateDir: dir, since, now });
    expect(report.hosts.map((h) => [h.host, h.score])).toEqual([['a', 60]]);
    const where = report.problems.map((p) => `${path.basename(p.file)}:${p.line}`);
    expect(where).toEqual(
      expect.arrayContaining([
        'good.jsonl:3',
        'good.jsonl:4',
        'good.jsonl:5',
        'binary.jsonl:1',
        'a-directory.jsonl:0',
        'shape.jsonl:1',
      ]),
    );
    expect(report.problems.find((p) => p.file.endsWith('a-directory.jsonl'))!.message).toBe(
      'unreadable (EISDIR)',
    );
    expect(report.notes.at(-1)).toMatch(/^4 journal files could not be read in full/);
    expect(await renderHtml(report)).toContain('Unreadable journal parts');
  });

  it('a flood of garbage lines is summed up, not listed line by line', async () => {
    const dir = await stateDir();
    await mkdir(path.join(dir, 'runs'), { recursive: true });
    await writeFile(path.join(dir, 'runs', 'junk.jsonl'), 'x\n'.repeat(500));
    const report = await buildHealthReport({ stateDir: dir, since, now });
    expect(report.problems).toHaveLength(4);
    expect(report.problems[3]!.message).toBe(
      '500 lines in all were not JSON events and were skipped',
    );
  });
});
