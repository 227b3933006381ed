import { nodeCrypto } from './lazy-crypto.js';

/**
 * JSON with object keys sorted (recursively) and no whitespace: the same value always gives the
 * same bytes, whatever order it was built in. What opsbook hashes (plans, journal events).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortDeep(value));
}

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortDeep(v);
    }
    return out;
  }
  return value;
}

/** `sha256:<hex>` of the canonical JSON of a value. */
export function digestOfValue(value: unknown): string {
  return `sha256:${nodeCrypto().createHash('sha256').update(canonicalJson(value)).digest('hex')}`;
}
