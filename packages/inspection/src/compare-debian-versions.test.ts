import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareDebianVersions } from './compare-debian-versions.js';

/**
 * The reference is the real `dpkg --compare-versions` of this machine, asked about every pair in
 * one shell loop: -1, 0 or 1 per line.
 */
function dpkgOrder(pairs: readonly (readonly [string, string])[]): number[] {
  const script = [
    'while IFS=" " read -r a b; do',
    '  if dpkg --compare-versions "$a" lt "$b"; then echo -1',
    '  elif dpkg --compare-versions "$a" eq "$b"; then echo 0',
    '  else echo 1; fi',
    'done',
  ].join('\n');
  const input = `${pairs.map(([a, b]) => `${a} ${b}`).join('\n')}\n`;
  const out = execFileSync('sh', ['-c', script], { input, encoding: 'utf8' });
  return out.trim().split('\n').map(Number);
}

// Small alphabets so that equal runs, leading zeros, `~` and letters-vs-symbols all come up often.
const run = (chars: string, max: number) =>
  fc
    .array(fc.constantFrom(...chars.split('')), { minLength: 0, maxLength: max })
    .map((a) => a.join(''));
const upstreamPart = fc
  .tuple(fc.constantFrom('0', '1', '2', '9', '10', '007'), run('0129ab.+~Z', 6))
  .map(([head, tail]) => head + tail);
const version = fc
  .record({
    epoch: fc.option(fc.constantFrom('0', '1', '2', '10'), { nil: undefined }),
    upstream: upstreamPart,
    revision: fc.option(run('019ab.+~', 5), { nil: undefined }),
  })
  .map(
    ({ epoch, upstream, revision }) =>
      `${epoch === undefined ? '' : `${epoch}:`}${upstream}${revision === undefined ? '' : `-${revision || '0'}`}`,
  );

describe('compareDebianVersions', () => {
  it('orders 1,000 generated version pairs exactly as dpkg --compare-versions does', () => {
    const pairs = fc.sample(fc.tuple(version, version), { numRuns: 1_000, seed: 4242 });
    // Near neighbours as well: the same version with one edit decides most real comparisons.
    const near = fc.sample(
      fc.tuple(version, run('0a~.+', 2)).map(([v, extra]) => [v, v + extra] as const),
      { numRuns: 200, seed: 7 },
    );
    const all = [...pairs, ...near];
    const expected = dpkgOrder(all);
    expect(expected).toHaveLength(all.length);
    const mismatches = all
      .map(([a, b], i) => ({ a, b, ours: compareDebianVersions(a, b), dpkg: expected[i] }))
      .filter((r) => r.ours !== r.dpkg);
    expect(mismatches).toEqual([]);
    // Not a vacuous sample: all three answers occur many times.
    for (const answer of [-1, 0, 1])
      expect(expected.filter((x) => x === answer).length).toBeGreaterThan(50);
  });

  it('orders the versions of real security updates', () => {
    const real: [string, string, number][] = [
      ['3.0.11-1~deb12u2', '3.0.13-1~deb12u1', -1],
      ['1:9.2p1-2+deb12u5', '1:9.2p1-2+deb12u6', -1],
      ['2.36-9+deb12u10', '2.36-9+deb12u4', 1],
      ['1.0~rc1', '1.0', -1],
      ['1.0', '1.0-0', 0],
      ['1:1.0', '2.0', 1],
      ['5.2.15-2+b8', '5.2.15-2+b13', -1],
    ];
    expect(real.map(([a, b]) => compareDebianVersions(a, b))).toEqual(real.map(([, , r]) => r));
    expect(dpkgOrder(real.map(([a, b]) => [a, b]))).toEqual(real.map(([, , r]) => r));
  });
});
