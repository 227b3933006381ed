import { describe, expect, it } from 'vitest';
import { canonicalJson, digestOfValue } from './canonical-json.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[{"y":2,"z":1}]},"b":1}',
    );
  });

  it('gives the same digest whatever order the value was built in, and another for any change', () => {
    const a = digestOfValue({ x: 1, y: ['a', 'b'] });
    expect(digestOfValue({ y: ['a', 'b'], x: 1 })).toBe(a);
    expect(digestOfValue({ y: ['b', 'a'], x: 1 })).not.toBe(a);
    expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

/** canonicalJson as it was first written (sorted copies of every object and array): its bytes are what journals and approvals were hashed over. */
function firstCanonicalJson(value: unknown): string {
  const sortDeep = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortDeep);
    if (v && typeof v === 'object' && !(v instanceof Date)) {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(v).sort()) {
        const x = (v as Record<string, unknown>)[key];
        if (x !== undefined) out[key] = sortDeep(x);
      }
      return out;
    }
    return v;
  };
  return JSON.stringify(sortDeep(value));
}

describe('canonicalJson, the bytes of every hash', () => {
  class Point {
    constructor(
      readonly y: number,
      readonly x: number,
    ) {}
  }
  const manyKeys = Object.fromEntries(
    Array.from({ length: 60 }, (_, i) => [`k${(i * 37) % 60}`, i % 3 === 0 ? [i, 'x'] : i]),
  );
  const values: [string, unknown][] = [
    [
      'a journal step-end',
      {
        seq: 3,
        at: '2025-01-01T00:00:00.000Z',
        prev: `sha256:${'0'.repeat(64)}`,
        type: 'step-end',
        host: 'web-1',
        phase: 'steps',
        step: 's1',
        status: 'ok',
        exitCode: 0,
        signal: null,
        durationMs: 12,
        stdout: 'line "one"\n\ttwo \u001b[31m',
        stderr: '',
        truncated: false,
      },
    ],
    ['nested objects and arrays', { b: [{ z: 1, y: [3, { q: 1, p: 2 }] }], a: { d: [], c: {} } }],
    ['integer-like keys', { 10: 'a', 9: 'b', b: 1, a: 2, '01': 3, '-1': 4 }],
    [
      'undefined, functions and symbols',
      { a: undefined, b: () => 1, c: Symbol('s'), d: [undefined, () => 1] },
    ],
    // biome-ignore lint/suspicious/noSparseArray: a hole is what is tested
    ['a sparse array', [1, , 3]],
    [
      'an own __proto__ key (JSON.parse makes one)',
      JSON.parse('{"b":1,"__proto__":{"x":1},"a":2}'),
    ],
    ['an own toJSON', { b: 1, toJSON: () => 'replaced' }],
    ['an array with its own toJSON', Object.assign([1, 2], { toJSON: () => 'arr' })],
    ['dates', { when: new Date(0), list: [new Date(1)] }],
    [
      'a class instance, a Map, a Buffer',
      { p: new Point(1, 2), m: new Map([['a', 1]]), buf: Buffer.from('hi') },
    ],
    ['more keys than an insertion sort takes', manyKeys],
    [
      'keys that sort by code unit, not by locale',
      { é: 1, e: 2, E: 3, '\u{1F600}': 4, '\uFB01': 5, 'a b': 6, ab: 7 },
    ],
    [
      'not finite numbers, -0 and strings with lone surrogates',
      { n: [Number.NaN, -0, Infinity], s: '\uD800x' },
    ],
    ['primitives', 'text'],
    ['null', null],
    ['an array of primitives', [3, 'b', true, null]],
  ];
  it.each(values)('writes %s exactly as the first version did', (_, value) => {
    expect(canonicalJson(value)).toBe(firstCanonicalJson(value));
  });

  it('writes random JSON values exactly as the first version did', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const keys = ['a', 'b', 'B', '0', '7', '10', 'zz', 'é', 'host', 'phase', '__proto__', 'x y'];
    const randomValue = (depth: number): unknown => {
      const r = random();
      if (depth > 3 || r < 0.3)
        return [1, 'two', null, true, undefined, 2.5][Math.floor(random() * 6)];
      if (r < 0.6)
        return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(depth + 1));
      const text = `{${Array.from(
        { length: Math.floor(random() * 6) },
        () =>
          `${JSON.stringify(keys[Math.floor(random() * keys.length)])}:${JSON.stringify(randomValue(depth + 1)) ?? 'null'}`,
      ).join(',')}}`;
      return JSON.parse(text);
    };
    for (let i = 0; i < 500; i++) {
      const value = randomValue(0);
      expect(canonicalJson(value)).toBe(firstCanonicalJson(value));
    }
  });

  it('leaves the value it is given unchanged', () => {
    const value = { b: [1, { d: 1, c: 2 }], a: [3, 2] };
    const before = JSON.stringify(value);
    canonicalJson(value);
    expect(JSON.stringify(value)).toBe(before);
  });
});
