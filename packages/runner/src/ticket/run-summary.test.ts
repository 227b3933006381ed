import type { Block } from '@opsbook/tracker';
import { describe, expect, it } from 'vitest';
import { type RunDigest, type StepRecord, summarizeRun } from './run-summary.js';

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
});
