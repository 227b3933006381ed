import { describe, expect, it } from 'vitest';
import type { ExecuteResult, HostStatus } from './execute.js';
import { runStatusOf } from './run.js';

function result(
  statuses: HostStatus[],
  flags: Partial<Pick<ExecuteResult, 'interrupted' | 'stoppedByFailures'>> = {},
): ExecuteResult {
  return {
    hosts: statuses.map((status, i) => ({ host: `h${i}`, status, steps: [], rolledBack: false })),
    interrupted: flags.interrupted ?? false,
    stoppedByFailures: flags.stoppedByFailures ?? false,
  };
}

describe('runStatusOf', () => {
  it('calls a run unreachable when its only failures are unreachable hosts, stopped or not', () => {
    expect(runStatusOf(result(['ok', 'unreachable']))).toBe('unreachable');
    expect(
      runStatusOf(
        result(['unreachable', 'not-started', 'not-started'], { stoppedByFailures: true }),
      ),
    ).toBe('unreachable');
  });

  it('calls a run failed as soon as a host failed, whatever else was unreachable', () => {
    expect(runStatusOf(result(['failed', 'unreachable']))).toBe('failed');
    expect(
      runStatusOf(result(['unreachable', 'failed', 'not-started'], { stoppedByFailures: true })),
    ).toBe('failed');
  });

  it('puts an interrupt before everything, and counts hosts not started for no reason as failed', () => {
    expect(runStatusOf(result(['failed', 'not-started'], { interrupted: true }))).toBe(
      'interrupted',
    );
    expect(runStatusOf(result(['ok', 'not-started']))).toBe('failed');
    expect(runStatusOf(result(['ok', 'ok']))).toBe('ok');
  });
});
