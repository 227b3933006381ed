import type { RunEvent, RunOutcome } from '@opsbook/runner';
import { describe, expect, it } from 'vitest';
import { makeStyle, type Output } from './output.js';
import { failureLimit } from './plan-view.js';
import {
  approvalUseText,
  runProgress,
  stoppedByFailuresText,
  ticketReportText,
} from './run-view.js';

/** An Output that keeps its notes, colours on: what runProgress writes, before any filter. */
function notesOutput(): Output & { notes: string[] } {
  const notes: string[] = [];
  const keep = (text: string) => {
    notes.push(text);
  };
  return {
    json: false,
    color: true,
    print: keep,
    printData: keep,
    printJson: keep,
    note: keep,
    noteRaw: keep,
    style: makeStyle(true),
    notes,
  };
}

describe('runProgress', () => {
  it("prints a step's end with the control characters of its host and reason made visible, and none of its output", () => {
    const out = notesOutput();
    runProgress(out)({
      type: 'step-end',
      host: 'web\u001b]0;owned\u0007',
      phase: 'steps',
      step: 's1',
      status: 'failed',
      exitCode: 1,
      signal: null,
      durationMs: 1500,
      stdout: 'output \u001b[2J',
      stderr: '',
      truncated: false,
      reason: 'exited 1 \u009b31m',
    } as RunEvent);
    expect(out.notes).toEqual([
      `[web\\x1b]0;owned\\x07] steps/s1 ${makeStyle(true).red('failed')} (1.5s) — exited 1 \\x9b31m`,
    ]);
  });

  it('prints a host that did not end ok with its error made visible, and nothing for one that did', () => {
    const out = notesOutput();
    const progress = runProgress(out);
    progress({ type: 'host-end', host: 'db1', status: 'ok', rolledBack: false } as RunEvent);
    progress({
      type: 'host-end',
      host: 'db2',
      status: 'failed',
      rolledBack: true,
      error: 'lost \u001b[1m',
    } as RunEvent);
    expect(out.notes).toEqual([makeStyle(true).red('[db2] failed: lost \\x1b[1m (rolled back)')]);
  });
});

describe('ticketReportText', () => {
  const entry = (id: string) => ({ id }) as never;
  it('sends waiting writes to outbox flush, and refused ones to --retry-failed', () => {
    expect(
      ticketReportText({ ticket: 'OPS-1', delivered: 2, pending: [entry('a')], failed: [] }),
    ).toBe(
      'OPS-1: 2 write(s) delivered, 1 kept in the outbox; they are sent by opsbook outbox flush',
    );
    const refused = ticketReportText({
      ticket: 'OPS-1',
      delivered: 0,
      pending: [entry('a')],
      failed: [entry('b')],
    });
    expect(refused).toContain('2 kept in the outbox');
    expect(refused).toContain('1 of them refused by the tracker for good');
    expect(refused).toContain('opsbook outbox flush --retry-failed');
  });
});

describe('approvalUseText', () => {
  const outcome = (status: string, runsLeft: number, hosts = ['ok', 'not-started']) =>
    ({
      runId: 'r1',
      status,
      approvalUse: { used: true, runsLeft },
      result: { hosts: hosts.map((h, i) => ({ host: `h${i}`, status: h, steps: [] })) },
    }) as unknown as RunOutcome;

  it('says to retry the hosts that did not end ok only while the approval has runs left', () => {
    expect(approvalUseText(outcome('interrupted', 1))).toBe(
      '1 run(s) of the approval left: retry the hosts that did not end ok with --retry-failed r1',
    );
  });

  it('says a new approval is needed when the run used the last one (a retry meets RUNS_EXHAUSTED)', () => {
    expect(approvalUseText(outcome('interrupted', 0))).toBe(
      'no run of the approval left: --retry-failed would be refused (RUNS_EXHAUSTED); ask a senior for a new approval of the hosts that did not end ok',
    );
    expect(approvalUseText(outcome('ok', 0))).toBeUndefined();
  });

  it('says nothing of a retry when the interrupted run had every host end ok (its workers finished)', () => {
    expect(approvalUseText(outcome('interrupted', 0, ['ok', 'ok']))).toBeUndefined();
  });
});

describe('maxFailures, as the plan and the run say it', () => {
  const host = (name: string, status: string) => ({ host: name, status, steps: [] });
  const outcome = (statuses: string[], stoppedByFailures: boolean, interrupted = false) =>
    ({
      result: {
        hosts: statuses.map((s, i) => host(`h${i}`, s)),
        stoppedByFailures,
        interrupted,
      },
      verified: { plan: { maxFailures: 1 } },
    }) as unknown as Parameters<typeof stoppedByFailuresText>[0];

  it('says in the plan how many failed hosts are tolerated, as the run counts them', () => {
    expect(failureLimit(0)).toBe('no host started after the first failure');
    expect(failureLimit(1)).toBe('1 failed host tolerated, no host started after failure 2');
    expect(failureLimit(3)).toBe('3 failed hosts tolerated, no host started after failure 4');
  });

  it('says why hosts were not started when more failed than maxFailures tolerates', () => {
    expect(stoppedByFailuresText(outcome(['unreachable', 'failed', 'not-started'], true))).toBe(
      "1 host(s) not started: 2 host(s) failed, more than the runbook's maxFailures (1) tolerates",
    );
    // Not for an interrupted run, nor when every host was started.
    expect(stoppedByFailuresText(outcome(['failed', 'not-started'], true, true))).toBeUndefined();
    expect(stoppedByFailuresText(outcome(['failed', 'failed'], true))).toBeUndefined();
    expect(stoppedByFailuresText(outcome(['ok', 'not-started'], false))).toBeUndefined();
  });
});
