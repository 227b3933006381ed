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
