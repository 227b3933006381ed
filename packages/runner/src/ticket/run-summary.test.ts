import type { Block } from '@opsbook/tracker';
import { describe, expect, it } from 'vitest';
import { digestJournal, type RunDigest, type StepRecord, summarizeRun } from './run-summary.js';

const step = (host: string, id: string, status: string, phase = 'steps'): StepRecord => ({
  host,
  phase,
  step: id,
  name: id,
  status,
});

function digestOf(hosts: RunDigest['hosts'], steps: StepRecord[]): RunDigest {
  return {
    runId: 'r1',
    ticket: 'OPS-1',
    runbook: 'disk-cleanup 1.0.0',
    status: 'failed',
    executor: 'eve',
    executorKey: '',
    hosts,
    steps,
    journal: { head: 'sha256:00', count: 0 },
    findings: { counts: {}, notable: [] },
  };
}

function hostRows(blocks: Block[]): string[][] {
  const table = blocks.find((b) => b.type === 'table' && b.header[0] === 'host');
  if (table?.type !== 'table') throw new Error('no host table in the comment');
  return table.rows;
}

describe('summarizeRun', () => {
  it("counts each host's own steps, ok and all, whatever the order of the steps", () => {
    const run = digestOf(
      [
        { host: 'web-1', status: 'ok', rolledBack: false },
        { host: 'web-2', status: 'failed', failedStep: 'steps/b', rolledBack: true },
        { host: 'web-3', status: 'unreachable', rolledBack: false },
      ],
      [
        step('web-1', 'a', 'ok'),
        step('web-2', 'a', 'ok'),
        step('web-1', 'b', 'ok'),
        step('web-2', 'b', 'failed'),
        step('web-2', 'undo', 'ok', 'rollback'),
        step('web-1', 'check', 'ok', 'postchecks'),
      ],
    );
    expect(hostRows(summarizeRun(run, []).blocks)).toEqual([
      ['web-1', 'ok', '', '', '3/3'],
      ['web-2', 'failed', 'steps/b', 'yes', '2/3'],
      ['web-3', 'unreachable', '', '', '0/0'],
    ]);
  });

  it("lists an inspection's findings that are not ok, worst first, with the counts", () => {
    const finding = (status: string, subject: string, message: string) => ({
      host: 'web-1',
      check: 'inspection.disk',
      subject,
      status,
      value: 1,
      threshold: 1,
      message,
    });
    const line = (n: number, e: object) => ({ seq: n, at: '', prev: '', hash: `h${n}`, ...e });
    const digest = digestJournal([
      line(0, { type: 'run-start', runId: 'r1', ticket: 'OPS-1', runbook: { name: 'daily' } }),
      line(1, {
        type: 'step-end',
        host: 'web-1',
        phase: 'steps',
        step: 'disk',
        status: 'ok',
        result: {
          findings: [
            finding('ok', '/', '40% used'),
            finding('warn', '/home', '85% used (warn at 80%)'),
            finding('crit', '/var', '97% used (crit at 95%)'),
          ],
        },
      }),
      line(2, { type: 'run-end', status: 'ok' }),
    ] as never);
    expect(digest.findings.counts).toEqual({ ok: 1, warn: 1, crit: 1 });
    const blocks = summarizeRun(digest, []).blocks;
    const text = JSON.stringify(blocks);
    expect(text).toContain('"Inspection findings"');
    expect(text).toContain('1 crit, 1 warn, 1 ok.');
    const table = blocks.find((b) => b.type === 'table' && b.header.includes('finding'));
    expect(table?.type === 'table' && table.rows).toEqual([
      ['web-1', 'inspection.disk', '/var', 'crit', '97% used (crit at 95%)'],
      ['web-1', 'inspection.disk', '/home', 'warn', '85% used (warn at 80%)'],
    ]);
  });
});
