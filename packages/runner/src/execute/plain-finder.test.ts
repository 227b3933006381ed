import { describe, expect, it } from 'vitest';
import { literalAlternation } from './literal-alternation.js';
import { plainFinder } from './plain-finder.js';

/** Every span `find` gives, from the start, each search going on from the last span's end. */
function spans(
  find: (text: string, from: number) => readonly [number, number] | undefined,
  text: string,
) {
  const out: (readonly [number, number])[] = [];
  for (let s = find(text, 0); s !== undefined; s = find(text, s[1])) out.push(s);
  return out;
}

/** What the global pattern itself finds, as `replace` would. */
function byPattern(pattern: RegExp, text: string) {
  const out: [number, number][] = [];
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text))
    out.push([m.index, m.index + m[0].length]);
  return out;
}

describe('plainFinder', () => {
  // A seeded generator: the same targets and texts on every run.
  let seed = 20261207;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ :.\né€';
  const word = (length: number) =>
    Array.from({ length }, () => alphabet[next(alphabet.length)]).join('');

  it('finds, in a large pattern, exactly what the pattern finds: leftmost, longest, overlapping and near-miss targets, digits of log lines', () => {
    // Many long targets (a PEM key's forms make ~900), sharing beginnings, some a prefix of another.
    const targets: string[] = [];
    for (let i = 0; i < 600; i++) targets.push(word(14 + next(60)));
    for (let i = 0; i < 100; i++) {
      const base = targets[next(targets.length)]!;
      targets.push(base.slice(0, 4 + next(base.length - 4)) + word(5)); // shares a beginning
      targets.push(base.slice(0, Math.max(4, base.length - 3))); // a prefix of another
    }
    targets.push('2026-12-07T1'); // one that ordinary log lines begin
    for (let i = 0; i < 20; i++) targets.push(word(4 + next(3))); // as short as a target gets
    const sorted = [...new Set(targets)].sort((a, b) => b.length - a.length);
    const pattern = literalAlternation(sorted, 'g');
    expect(pattern.source.length).toBeGreaterThan(20_000); // the hashed path is the one tested
    const find = plainFinder(sorted, pattern);
    for (let round = 0; round < 60; round++) {
      let text = '';
      while (text.length < 5_000) {
        const pick = next(6);
        const t = sorted[next(sorted.length)]!;
        if (pick === 0) text += t;
        else if (pick === 1)
          text += t.slice(0, t.length - 1); // a near miss
        else if (pick === 2) text += t.slice(1);
        else if (pick === 3) text += `2026-12-07T16:0${next(10)}:00Z INFO id=${next(99999)} `;
        else text += word(next(40));
      }
      // A target at the very end, the shortest one at times: the last place is searched too.
      if (round % 2) text += round % 4 === 1 ? sorted.at(-1)! : sorted[next(sorted.length)]!;
      expect(spans(find, text), `round ${round}`).toEqual(byPattern(pattern, text));
    }
  });

  it('a small pattern, or a target shorter than four characters, is searched with the pattern alone', () => {
    const pattern = literalAlternation(['abc', 'hunter2'], 'g');
    const find = plainFinder(['hunter2', 'abc'], pattern);
    expect(spans(find, 'x abc hunter2 ab')).toEqual([
      [2, 5],
      [6, 13],
    ]);
  });
});
