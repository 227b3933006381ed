import { nodeCrypto } from './lazy-crypto.js';

/**
 * JSON with object keys sorted (recursively) and no whitespace: the same value always gives the
 * same bytes, whatever order it was built in. What opsbook hashes (plans, journal events).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortDeep(value));
}

/**
 * The value with every object's keys in sorted order, for JSON.stringify. Objects are copied
 * (the copy's insertion order is what JSON.stringify writes); an array of no object is kept as
 * it is, since a copy would serialize the same. Every event of every run is hashed through this
 * when written and again when verified: it allocates as little as it can (BENCHMARKS.md, fan-out).
 */
function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return holdsObject(value) ? value.map(sortDeep) : value;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const key of sortedKeys(value)) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortDeep(v);
    }
    return out;
  }
  return value;
}

/**
 * Whether the array must be copied: an element is an object (its keys to sort), or the array
 * has a `toJSON` (its own or a subclass's), which a copy might not have.
 */
function holdsObject(array: readonly unknown[]): boolean {
  if ('toJSON' in array) return true;
  for (let i = 0; i < array.length; i++) {
    const v = array[i];
    if (v !== null && typeof v === 'object') return true;
  }
  return false;
}

/** Longest key list sorted by insertion: beyond it, Array.prototype.sort's n log n wins. */
const INSERTION_SORT_MAX = 24;

/**
 * Object.keys(value) in the order of Array.prototype.sort() (UTF-16 code units). A journal
 * event has about ten keys: sorted in place, they cost no work array (sort's, per call).
 */
function sortedKeys(value: object): string[] {
  const keys = Object.keys(value);
  if (keys.length > INSERTION_SORT_MAX) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    for (; j >= 0 && (keys[j] as string) > key; j--) keys[j + 1] = keys[j] as string;
    keys[j + 1] = key;
  }
  return keys;
}

/** `sha256:<hex>` of the canonical JSON of a value. */
export function digestOfValue(value: unknown): string {
  return `sha256:${nodeCrypto().createHash('sha256').update(canonicalJson(value)).digest('hex')}`;
}
