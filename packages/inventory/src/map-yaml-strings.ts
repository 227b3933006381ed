import type { PathSegment } from '@opsbook/schema';

/**
 * A copy of a parsed YAML value whose every string is what `replace` returns for it and its path;
 * lists and mappings are rebuilt around them, keys left alone.
 */
export function mapYamlStrings(
  value: unknown,
  replace: (text: string, path: PathSegment[]) => unknown,
): unknown {
  return mapYamlScalars(value, (v, path) => (typeof v === 'string' ? replace(v, path) : v));
}

/** mapYamlStrings for strings and numbers both. */
export function mapYamlScalars(
  value: unknown,
  replace: (scalar: string | number, path: PathSegment[]) => unknown,
): unknown {
  const walk = (v: unknown, path: PathSegment[]): unknown => {
    if (typeof v === 'string' || typeof v === 'number') return replace(v, path);
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      // defineProperty, not assignment: a key named __proto__ stays a key.
      for (const [k, x] of Object.entries(v)) {
        Object.defineProperty(out, k, {
          value: walk(x, [...path, k]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    return v;
  };
  return walk(value, []);
}
