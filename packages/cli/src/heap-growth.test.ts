import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { RUN_HEAP_FLAGS } from './heap-growth.js';

/**
 * A process that keeps ~400 MB of small objects, growing, so that V8 collects fully each time
 * the old generation reaches the limit it set at the collection before (`--trace-gc`). Returns
 * the largest growth it allowed: the heap at a collection (or at the end) over what the
 * collection before left alive, for collections that left 30 MB or more.
 */
function largestGrowth(flags: string | undefined): number {
  const script = `
    if (process.argv[1]) require('node:v8').setFlagsFromString(process.argv[1]);
    const keep = [];
    for (let i = 0; i < 3_000_000; i++) keep.push({ i, s: 'x' + i, a: [i, i] });
    console.log('used', process.memoryUsage().heapUsed / 2 ** 20);`;
  const r = spawnSync(process.execPath, ['--trace-gc', '-e', script, flags ?? ''], {
    encoding: 'utf8',
  });
  expect(r.stderr).toBe(''); // an unknown V8 flag would be reported here
  const collections = [...r.stdout.matchAll(/Mark-Compact ([\d.]+) \([\d.]+\) -> ([\d.]+) \(/g)];
  const atEnd = Number(r.stdout.match(/^used ([\d.]+)$/m)?.[1]);
  expect(atEnd).toBeGreaterThan(300);
  let largest = 0;
  collections.forEach((c, i) => {
    const alive = Number(c[2]);
    const next = collections[i + 1];
    if (alive >= 30) largest = Math.max(largest, (next ? Number(next[1]) : atEnd) / alive);
  });
  return largest;
}

describe('capRunHeapGrowth', () => {
  it("makes V8 let a growing heap reach ~2× what its last collection left alive, not its default's 4×", () => {
    expect(largestGrowth(undefined)).toBeGreaterThan(3);
    expect(largestGrowth(RUN_HEAP_FLAGS)).toBeLessThan(2.5);
  });
});
