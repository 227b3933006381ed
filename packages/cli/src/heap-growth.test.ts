import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  FANOUT_HOSTS,
  FANOUT_RAISED_HOSTS,
  FEW_HOSTS_V8_FLAGS,
  LONG_FANOUT_V8_FLAGS,
  RUN_V8_FLAGS,
  v8TuningForRun,
} from './heap-growth.js';

/**
 * A process that keeps ~400 MB of small objects (`objects` of them), growing, so that V8 collects fully each time
 * the old generation reaches the limit it set at the collection before. Returns the largest
 * growth it allowed: the limit V8 set after a collection that left 30 MB or more alive (printed
 * as marking starts, `--trace-incremental-marking`) over what that collection left, or, with no
 * collection after it, the heap at the end over it (a lower bound). The limit, not the heap when
 * the next collection came: on a busy machine marking finishes late and the heap overshoots it.
 */
function largestGrowth(flags: string | undefined, objects = 3_000_000): number {
  const script = `
    if (process.argv[1]) require('node:v8').setFlagsFromString(process.argv[1]);
    const keep = [];
    for (let i = 0; i < ${objects}; i++) keep.push({ i, s: 'x' + i, a: [i, i] });
    console.log('used', process.memoryUsage().heapUsed / 2 ** 20);`;
  const r = spawnSync(
    process.execPath,
    ['--trace-gc', '--trace-incremental-marking', '-e', script, '--', flags ?? ''],
    { encoding: 'utf8' },
  );
  expect(r.stderr).toBe(''); // an unknown V8 flag would be reported here
  const atEnd = Number(r.stdout.match(/^used ([\d.]+)$/m)?.[1]);
  expect(atEnd).toBeGreaterThan(300);
  let largest = 0;
  let alive: number | undefined;
  let collections = 0;
  for (const line of r.stdout.split('\n')) {
    const collected = /Mark-Compact [\d.]+ \([\d.]+\) -> ([\d.]+) \(/.exec(line);
    if (collected) {
      collections++;
      alive = Number(collected[1]);
      continue;
    }
    const started = /\] Start \(.*\bv8: \d+MB \/ (\d+)MB/.exec(line);
    if (started && alive !== undefined) {
      if (alive >= 30) largest = Math.max(largest, Number(started[1]) / alive);
      alive = undefined;
    }
  }
  if (alive !== undefined && alive >= 30) largest = Math.max(largest, atEnd / alive);
  expect(collections).toBeGreaterThan(0);
  return largest;
}

/**
 * Which functions TurboFan compiled (`--trace-opt`) in a process that, under `flags`, runs 100
 * distinct warm functions 300 times each, as a run's per-host code runs, and one hot function
 * (`hot`) 2,000,000 times, as ssh2's packet loop runs in a long run.
 */
function optimized(flags: string | undefined): { warm: number; hot: boolean } {
  const script = `
    if (process.argv[1]) require('node:v8').setFlagsFromString(process.argv[1]);
    const warm = Array.from({ length: 100 }, (_, i) =>
      new Function('a', 'let s = ' + i + '; for (let j = 0; j < 20; j++) s += a[j % a.length] * ' + i + '; return s;'));
    let t = 0;
    for (let k = 0; k < 300; k++) for (const f of warm) t += f([1, 2, 3]);
    function hot(a) { let s = 0; for (let j = 0; j < 20; j++) s += a[j % a.length]; return s; }
    for (let k = 0; k < 2000000; k++) t += hot([1, 2, 3]);
    console.log('t', t);`;
  // TurboFan on the main thread: compiled concurrently, a job still queued when the process
  // ends is never reported, and under load that left fewer than 50 warm ones (62–102 a run).
  const r = spawnSync(
    process.execPath,
    ['--trace-opt', '--no-concurrent-recompilation', '-e', script, '--', flags ?? ''],
    { encoding: 'utf8' },
  );
  expect(r.stderr).toBe('');
  const compiled = r.stdout.split('\n').filter((l) => l.startsWith('[completed compiling'));
  return {
    warm: compiled.filter((l) => l.includes('<JSFunction (sfi')).length,
    hot: compiled.some((l) => l.includes('<JSFunction hot ')),
  };
}

describe('tuneRunV8 and v8TuningForRun', () => {
  it("makes V8 let a growing heap reach ~2× what its last collection left alive, not its default's 4× (7× on few hosts)", () => {
    expect(largestGrowth(undefined)).toBeGreaterThan(3);
    // The heap flag alone: V8 derives its factor from how fast the mutator runs, and a raised
    // interrupt budget slows this loop's mutator.
    const heapFlag = RUN_V8_FLAGS.split(' ').filter((f) => f.startsWith('--heap-growing-percent='));
    expect(heapFlag).toHaveLength(1);
    expect(largestGrowth(heapFlag.join(' '))).toBeLessThan(2.5);
    // A run on few hosts lets its heap grow further than V8 itself would (streams: see
    // v8TuningForRun); a long fan-out keeps the cap.
    // (More objects: 7× the first collection's ~50–100 MB is past 400 MB.)
    expect(largestGrowth(`${heapFlag.join(' ')} ${FEW_HOSTS_V8_FLAGS}`, 4_500_000)).toBeGreaterThan(
      5,
    );
    expect(LONG_FANOUT_V8_FLAGS).not.toMatch(/heap-growing-percent/);
  });

  it('leaves merely warm functions to the baseline compiler, and still optimizes the hot one', () => {
    const byDefault = optimized(undefined);
    expect(byDefault.warm).toBeGreaterThan(50);
    expect(byDefault.hot).toBe(true);
    expect(FANOUT_HOSTS).toBeGreaterThan(1);
    const tuned = optimized(RUN_V8_FLAGS);
    expect(tuned.warm).toBeLessThan(10);
    expect(tuned.hot).toBe(true);
  });

  it('puts the default budget back at run-start on fewer than FANOUT_HOSTS hosts, or once FANOUT_RAISED_HOSTS hosts ended', () => {
    expect(optimized(`${RUN_V8_FLAGS} ${FEW_HOSTS_V8_FLAGS}`).warm).toBeGreaterThan(50);
    expect(optimized(`${RUN_V8_FLAGS} ${LONG_FANOUT_V8_FLAGS}`).warm).toBeGreaterThan(50);
    const set: string[] = [];
    const record = (flags: string) => void set.push(flags);
    {
      const hosts = (n: number) => ({ type: 'run-start', hosts: Array.from({ length: n }) });
      const few = v8TuningForRun(record);
      few(hosts(FANOUT_HOSTS - 1));
      few({ type: 'host-end' });
      expect(set).toEqual([FEW_HOSTS_V8_FLAGS]);
      set.length = 0;
      const many = v8TuningForRun(record);
      many(hosts(FANOUT_HOSTS));
      for (let i = 1; i < FANOUT_RAISED_HOSTS; i++) many({ type: 'host-end' });
      expect(set).toEqual([]);
      many({ type: 'host-end' });
      many({ type: 'host-end' });
      expect(set).toEqual([LONG_FANOUT_V8_FLAGS]);
    }
  });
});
