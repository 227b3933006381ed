import { mkdir, readFile, writeFile } from 'node:fs/promises';
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

  it('leaves out and names a run whose journal does not verify, and keeps the rest', async () => {
    const dir = await stateDir();
    const host = (load: number) => [
      {
        host: 'a',
        findings: [
          { check: 'inspection.load', status: 'warn' as const, message: 'busy', value: load },
        ],
      },
    ];
    await writeRuns(dir, [
      { runId: 'good', at: '2025-03-01T06:00:00Z', hosts: host(2) },
      { runId: 'broken', at: '2025-03-01T07:00:00Z', hosts: host(9) },
      { runId: 'binary', at: '2025-03-01T08:00:00Z', hosts: host(9) },
    ]);
    // Lines a runner never writes, in a run the ledger recorded: its journal does not verify.
    const broken = path.join(dir, 'runs', 'broken.jsonl');
    const lines = (await readFile(broken, 'utf8')).split('\n');
    lines.splice(2, 0, '{"type":"step-end", truncated', 'not json at all', '[1,2]');
    await writeFile(broken, lines.join('\n'));
    await writeFile(
      path.join(dir, 'runs', 'binary.jsonl'),
      Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x0a, 0xc3]),
    );
    // A journal the ledger has no record of: not a run of this store.
    await writeFile(
      path.join(dir, 'runs', 'stray.jsonl'),
      journalText({
        runId: 'stray',
        at: '2025-03-01T09:00:00Z',
        hosts: host(9),
      }),
    );
    const report = await buildHealthReport({ stateDir: dir, since, now });
    expect(report.hosts.map((h) => [h.host, h.score])).toEqual([['a', 60]]);
    expect(report.hosts[0]!.lastSeen).toBe('2025-03-01T06:00:03.000Z');
    expect(report.problems).toEqual([]);
    expect(report.leftOutRuns).toEqual([
      { runId: 'binary', reason: expect.stringMatching(/^its journal does not verify \(/) },
      { runId: 'broken', reason: expect.stringMatching(/^its journal does not verify \(line 3: /) },
      { runId: 'stray', reason: 'the ledger has no record of it' },
    ]);
    expect(report.notes).toContain('run stray left out: the ledger has no record of it.');
    // Nothing is kept of them: the next report leaves them out again.
    const again = await buildHealthReport({ stateDir: dir, since, now });
    expect(again.leftOutRuns?.map((l) => l.runId)).toEqual(['binary', 'broken', 'stray']);
  });

  it('reports an unreadable journal, and a finding of the wrong shape in a verified run', async () => {
    const dir = await stateDir();
    await writeRuns(dir, [
      {
        runId: 'shape',
        at: '2025-03-01T07:00:00Z',
        hosts: [
          {
            host: 'a',
            findings: [
              { check: 'inspection.disk', status: 'dreadful', message: 1 } as never,
              { check: 'inspection.load', status: 'warn', message: 'busy', value: 2 },
            ],
          },
        ],
      },
    ]);
    await mkdir(path.join(dir, 'runs', 'a-directory.jsonl'));
    const report = await buildHealthReport({ stateDir: dir, since, now });
    expect(report.hosts.map((h) => [h.host, h.score])).toEqual([['a', 60]]);
    const where = report.problems.map((p) => `${path.basename(p.file)}:${p.line}`);
    expect(where).toEqual(expect.arrayContaining(['shape.jsonl:4']));
    expect(report.leftOutRuns).toEqual([
      { runId: 'a-directory', reason: 'the ledger has no record of it' },
    ]);
    expect(await renderHtml(report)).toContain('Unreadable journal parts');
  });
});
