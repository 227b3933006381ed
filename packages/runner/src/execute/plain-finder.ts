import type { Span } from './wrapped-encodings.js';

/**
 * Finds the next of the masker's plain targets in a text at or after `from`, as the global
 * `pattern` (literalAlternation of the targets) finds it: the leftmost, and there the longest.
 */
export type PlainFinder = (text: string, from: number) => Span | undefined;

/** Characters of the window whose hash says where a target may begin. */
const GRAM = 4;
/** Bits of the hash a window is looked up by: 2^20 bits (128 KiB) per masker that uses it. */
const HASH_BITS = 20;
/**
 * Below this size of pattern, V8 runs the pattern as compiled code, which skips ahead by the
 * targets' first characters faster than a loop here: 10 MiB of log lines with a few short
 * secrets take ~60 ms either way. The forms of a PEM key make a pattern of ~100,000 characters,
 * which V8 runs far slower (~150–200 ns a character of text, BENCHMARKS.md): there the pattern
 * is tried only where a target's first four characters stand.
 */
const LARGE_PATTERN = 20_000;

/**
 * `pattern` (global, no sticky flag) over `targets`. For a large pattern, a window of the text's
 * next GRAM characters is hashed at each place and looked up among the hashes of the targets'
 * first GRAM characters; only where one may begin is the pattern tried, anchored there. A place
 * where no target's first characters stand cannot begin a match, so the spans are the pattern's
 * own. A target shorter than GRAM characters, or a small pattern, uses the pattern alone.
 */
export function plainFinder(targets: readonly string[], pattern: RegExp): PlainFinder {
  const byPattern: PlainFinder = (text, from) => {
    pattern.lastIndex = from;
    const m = pattern.exec(text);
    if (m === null) return undefined;
    // No target is empty (literalAlternation leaves them out), so no match is.
    return [m.index, m.index + m[0].length];
  };
  if (pattern.source.length < LARGE_PATTERN || targets.some((t) => t.length < GRAM))
    return byPattern;
  const starts = new Uint8Array(1 << (HASH_BITS - 3));
  for (const t of targets) {
    const h = hashAt(t, 0);
    starts[h >>> 3]! |= 1 << (h & 7);
  }
  const anchored = new RegExp(pattern.source, pattern.flags.replace('g', '') + 'y');
  return (text, from) => {
    const last = text.length - GRAM;
    for (let at = from; at <= last; at++) {
      const h = hashAt(text, at);
      if ((starts[h >>> 3]! & (1 << (h & 7))) === 0) continue;
      anchored.lastIndex = at;
      const m = anchored.exec(text);
      if (m !== null) return [at, at + m[0].length];
    }
    return undefined;
  };
}

/**
 * The hash of the GRAM characters of `text` from `at` (all there): the four packed 7 bits apart
 * (exact for ASCII), then Fibonacci hashing's top HASH_BITS bits.
 */
function hashAt(text: string, at: number): number {
  const packed =
    (text.charCodeAt(at) << 21) ^
    (text.charCodeAt(at + 1) << 14) ^
    (text.charCodeAt(at + 2) << 7) ^
    text.charCodeAt(at + 3);
  return Math.imul(packed, 0x9e3779b1) >>> (32 - HASH_BITS);
}
