import type { RunEvent } from '@opsbook/runner';
import { describe, expect, it } from 'vitest';
import { makeStyle } from '../output.js';
import { currentSteps, type RunTally, remainingMs, startTally, tallyEvent } from './run-tally.js';
import { formatClock, statusText } from './status-text.js';

/** A run-start with only what the tally reads; the rest of the event does not matter here. */
const runStart = (hosts: string[]) =>
  ({
    type: 'run-start',
    runbook: { name: 'slow', version: '1.0.0', digest: 'x' },
    hosts,
  }) as Extract<RunEvent, { type: 'run-start' }>;

/** Replays `events`, each at its time in ms. */
function replay(events: Array<[number, RunEvent]>): RunTally {
  return events.reduce((t, [at, e]) => tallyEvent(t, e, at), startTally(0));
}

const hostStart = (host: string): RunEvent => ({
  type: 'host-start',
  host,
  connection: { host, port: 22, user: 'root' } as never,
});
const stepStart = (host: string, step: string, phase = 'steps'): RunEvent => ({
  type: 'step-start',
  host,
  phase: phase as 'steps',
  step,
  name: `Do ${step}`,
});
const stepEnd = (host: string, step: string): RunEvent => ({
  type: 'step-end',
  host,
  phase: 'steps',
  step,
  status: 'ok',
  durationMs: 1,
});
const hostEnd = (host: string, status = 'ok'): RunEvent => ({
  type: 'host-end',
  host,
  status,
  rolledBack: false,
});

const plain = makeStyle(false);

describe('the live status of a run', () => {
  it('says ETA — until a host finished, then estimates from finished hosts', () => {
    const started = replay([
      [0, runStart(['a', 'b', 'c', 'd'])],
      [0, hostStart('a')],
      [0, hostStart('b')],
      [0, stepStart('a', 'first')],
      [0, stepStart('b', 'first')],
    ]);
    expect(remainingMs(started, 5_000)).toBeUndefined();
    expect(statusText(started, 5_000, plain, 120)).toBe(
      'slow 1.0.0: 0/4 done · 0 failed · 2 running · 2 waiting · elapsed 0:05 · ETA —\n' +
        '  steps: first "Do first" on 2 hosts',
    );
    // a took 10 s; b started with it, so needs none more than the mean; c and d run as one
    // more wave of two (two hosts were seen running at once).
    const oneDone = replay([
      [0, runStart(['a', 'b', 'c', 'd'])],
      [0, hostStart('a')],
      [0, hostStart('b')],
      [10_000, hostEnd('a')],
    ]);
    expect(remainingMs(oneDone, 10_000)).toBe(10_000);
    expect(remainingMs(oneDone, 12_000)).toBe(10_000);
    expect(statusText(oneDone, 10_000, plain, 120)).toBe(
      'slow 1.0.0: 1/4 done · 0 failed · 1 running · 2 waiting · elapsed 0:10 · ETA 0:10',
    );
  });

  it('lists the steps hosts are in, per phase in run order, most hosts first', () => {
    const t = replay([
      [0, runStart(['a', 'b', 'c', 'd'])],
      ...['a', 'b', 'c', 'd'].map((h) => [0, hostStart(h)] as [number, RunEvent]),
      [0, stepStart('a', 'second')],
      [0, stepStart('b', 'first')],
      [0, stepStart('c', 'first')],
      [0, stepStart('d', 'disk', 'prechecks')],
      [1, stepEnd('a', 'second')],
      [1, stepStart('a', 'third')],
    ]);
    expect(currentSteps(t).map((p) => [p.phase, p.steps.map((s) => [s.step, s.hosts])])).toEqual([
      ['prechecks', [['disk', 1]]],
      [
        'steps',
        [
          ['first', 2],
          ['third', 1],
        ],
      ],
    ]);
  });

  it('counts failed hosts and hosts that never started once the run ended', () => {
    const t = replay([
      [0, runStart(['a', 'b', 'c'])],
      [0, hostStart('a')],
      [1_000, hostEnd('a', 'unreachable')],
      [
        1_000,
        {
          type: 'run-end',
          status: 'failed',
          hosts: { a: 'unreachable', b: 'not-started', c: 'not-started' },
          interrupted: false,
          stoppedByFailures: true,
        },
      ],
    ]);
    expect(statusText(t, 2_000, plain, 120)).toBe(
      'slow 1.0.0: 0/3 done · 3 failed · 0 running · 0 waiting · elapsed 0:02',
    );
  });

  it('shows control characters of runbook text as \\xHH and cuts step lines to the width', () => {
    const t = replay([
      [0, runStart(['a'])],
      [0, hostStart('a')],
      [
        0,
        {
          type: 'step-start',
          host: 'a',
          phase: 'steps',
          step: 'evil',
          name: `\u001b[2J\u001b]0;owned\u0007${'x'.repeat(200)}`,
        },
      ],
    ]);
    const [first, second] = statusText(t, 0, plain, 60).split('\n');
    expect(second).toMatch(/^ {2}steps: evil "\\x1b\[2J\\x1b\]0;owned\\x07x+…$/);
    expect([...second!].length).toBe(59);
    // Too narrow for the runbook's name as well: the counts stay whole.
    expect(first).toBe('0/1 done · 0 failed · 1 running · 0 waiting · elapsed 0:00 · ETA —');
  });

  it('writes durations as m:ss, and h:mm:ss past an hour', () => {
    expect(formatClock(0)).toBe('0:00');
    expect(formatClock(61_400)).toBe('1:01');
    expect(formatClock(3_726_000)).toBe('1:02:06');
  });
});
