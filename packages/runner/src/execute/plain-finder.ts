import { literalAlternation } from './literal-alternation.js';
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
 * first GRAM characters; only where one may begin are the targets of that hash compared there,
 * longest first. A place where no target's first characters stand cannot begin a match, so the
 * spans are the pattern's own. Targets shorter than GRAM characters are found by a pattern of
 * their own (small: a secret of 1-3 characters). The large pattern itself is never run: V8
 * refuses a pattern past a size (the forms of a secret of ~20,000 characters or more) with
 * "Regular expression too large", at its first use.
 */
export function plainFinder(targets: readonly string[], pattern: RegExp): PlainFinder {
  const byPattern: PlainFinder = (text, from) => {
    pattern.lastIndex = from;
    const m = pattern.exec(text);
    if (m === null) return undefined;
    // No target is empty (literalAlternation leaves them out), so no match is.
    return [m.index, m.index + m[0].length];
  };
  if (pattern.source.length < LARGE_PATTERN) return byPattern;
  const short = targets.filter((t) => t.length > 0 && t.length < GRAM);
  const findLong = byFirstGram(targets.filter((t) => t.length >= GRAM));
  if (short.length === 0) return findLong;
  const findShort = plainFinder(short, literalAlternation(short, pattern.flags));
  return (text, from) => {
    const long = findLong(text, from);
    // Both search from `from`: the leftmost wins, and at the same place the longer (a long one).
    const shortFound = findShort(text, from);
    if (shortFound === undefined) return long;
    if (long === undefined) return shortFound;
    return long[0] <= shortFound[0] ? long : shortFound;
  };
}

/** Targets of GRAM+ characters, found where the hash of their first GRAM characters stands. */
function byFirstGram(targets: readonly string[]): PlainFinder {
  const starts = new Uint8Array(1 << (HASH_BITS - 3));
  const byHash = new Map<number, string[]>();
  for (const t of [...new Set(targets)].sort((a, b) => b.length - a.length)) {
    const h = hashAt(t, 0);
    starts[h >>> 3]! |= 1 << (h & 7);
    const listed = byHash.get(h);
    if (listed) listed.push(t);
    else byHash.set(h, [t]);
  }
  return (text, from) => {
    const last = text.length - GRAM;
    for (let at = from; at <= last; at++) {
      const h = hashAt(text, at);
      if ((starts[h >>> 3]! & (1 << (h & 7))) === 0) continue;
      // Longest first: the first that stands here is the longest, as the pattern takes it.
      for (const t of byHash.get(h) ?? []) if (text.startsWith(t, at)) return [at, at + t.length];
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
