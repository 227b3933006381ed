import { describe, expect, it } from 'vitest';
import { seededRandom } from '../test/seeded-random.js';
import { parseJsonLocated, parseJsonSource } from './json-source.js';

const keys = ['a', 'b', 'name', '\\u0061', 'a\\"b', '{', '[', ',', ':', '__proto__', ''];
const scalars = ['1', '-0.5e3', 'true', 'false', 'null', '"x"', '"a,b"', '"]"', '"\\\\"', '"é"'];

/** JSON text, now and then with a key written twice (also through an escape), up to 40 deep. */
function jsonText(r: () => number, depth: number): string {
  const roll = r();
  const pad = r() < 0.3 ? ' \n  ' : '';
  if (depth > 40 || roll < 0.4) return scalars[Math.floor(r() * scalars.length)]!;
  const n = Math.floor(r() * 4);
  const items: string[] = [];
  if (roll < 0.6) {
    for (let i = 0; i < n; i++) items.push(jsonText(r, depth + 1));
    return `[${pad}${items.join(`,${pad}`)}${pad}]`;
  }
  for (let i = 0; i < n; i++) {
    const key = keys[Math.floor(r() * keys.length)]!;
    items.push(`"${key}"${pad}:${pad}${jsonText(r, depth + 1)}`);
  }
  return `{${pad}${items.join(`,${pad}`)}${pad}}`;
}

describe('parseJsonSource', () => {
  it('gives what the reading through YAML gives, on 5,000 generated texts', () => {
    const r = seededRandom(7);
    let fast = 0;
    for (let i = 0; i < 5000; i++) {
      const text = jsonText(r, r() < 0.02 ? 25 : 0) + (r() < 0.1 ? ' x' : '');
      const got = parseJsonSource('p.json', text);
      const want = parseJsonLocated('p.json', text);
      expect({ value: got.value, problems: got.problems }, text).toEqual({
        value: want.value,
        problems: want.problems,
      });
      expect(got.locate([]), text).toEqual(want.locate([]));
      if (got.problems.length === 0) fast++;
    }
    expect(fast).toBeGreaterThan(1000);
  });

  it('refuses a key written twice, also when an escape writes it, at the second', () => {
    for (const text of [
      '{"a": 1, "a": 2}',
      '{"a": 1,\n "\\u0061": 2}',
      '[{"b": {"a": 1, "a": 2}}]',
    ]) {
      const source = parseJsonSource('p.json', text);
      expect(source.value, text).toBeUndefined();
      expect(
        source.problems.map((p) => p.rule),
        text,
      ).toEqual(['yaml-duplicate-key']);
    }
  });

  it('locates a value of a valid file, which it read without the YAML parser', () => {
    const source = parseJsonSource('p.json', '{\n  "name": "x",\n  "version": 1\n}\n');
    expect(source.value).toEqual({ name: 'x', version: 1 });
    expect(source.locate(['version'])).toEqual({ line: 3, col: 14 });
  });

  it('says where a text cut short ends, and what to do', () => {
    const text = '{\n  "version": "4",\n  "alerts": [\n';
    for (const got of [parseJsonSource('cut.json', text), parseJsonLocated('cut.json', text)]) {
      expect(got.value).toBeUndefined();
      expect(got.problems).toEqual([
        {
          file: 'cut.json',
          line: 3,
          col: 14,
          rule: 'bad-json',
          message:
            'invalid JSON: the text ends inside a value: close every open string, [ and { (was the file cut short?)',
        },
      ]);
    }
  });

  it('says where the token JSON.parse names without a position is (V8: "Unexpected token")', () => {
    const cases: Array<[string, number, number, string]> = [
      ['hello', 1, 1, "Unexpected token 'h'"],
      ['{\n  "version": "4",\n  "alerts": [1,]\n}\n', 3, 16, "Unexpected token ']'"],
      ['\n\n  nope', 3, 4, "Unexpected token 'o'"],
    ];
    for (const [text, line, col, says] of cases) {
      const [problem] = parseJsonSource('bad.json', text).problems;
      expect(problem).toMatchObject({ file: 'bad.json', line, col, rule: 'bad-json' });
      expect(problem!.message).toContain(says);
    }
  });
});
