import { mayBeWordLineSoFar, readsAsUnsignedBytes, readWordLine } from './word-dumps.js';

/**
 * Hex dumps with offsets: `xxd` (any `-g`, `-c`, `-u`, `-e`), `hexdump -C` / `hd`, `od -A x -t
 * x1z`, and dumps without a character column (`od -t x1`, `od -x`, `hexdump`), or without
 * offsets either (`od -An -t x1`, `od -An -x`, `-t x2`, `-t x4`); dumps of
 * characters (`od -c`, `od -An -c`, `hexdump -c`, and `od -b`, whose fields are the same); and
 * dumps in bits or octal words (`xxd -b`, `od -o`: word-dumps.ts). A secret in one
 * is spread over lines: its bytes as hex between offsets, and its printable characters, 16 a
 * line, in the column on the right. The masker reads each run of dump lines back into bytes,
 * finds the secrets there, and stars out their hex digits (`**` a byte) and their characters
 * (`*` a byte), keeping the dump's layout.
 *
 * Lines are read with a scanner over the text (no line is copied, no array made per line): a
 * dump of 8 MiB with a secret set is masked in about the time the rest of the masker takes.
 */

/**
 * The longest line read as a dump line: `xxd -c 256 -g 1` writes ~1,100 characters a line. A
 * longer one is not read (nor held back by the stream masker while it is unfinished).
 */
const MAX_DUMP_LINE = 16_384;

/** An offset (6 to 16 hex or octal digits) then `:` or spaces: what every dump line begins with. */
const DUMP_START = /^[0-9a-fA-F]{6,16}(?::? +)/;

/**
 * Whether an unfinished line may still become a dump line: the stream masker holds such a line
 * back until its end, as its bytes can only be read whole.
 */
export function mayBeDumpLine(partial: string): boolean {
  // Longer than any dump line read: let out as it comes (a host's endless line is not held).
  if (partial.length > MAX_DUMP_LINE) return false;
  if (/^[0-9a-fA-F]{0,16}:?$/.test(partial)) return /^[0-9a-fA-F]/.test(partial);
  // `od -An -c` lines: whole fields of 4 characters, then the beginning of one; `od -An -t x1`
  // lines: hex tokens, a space before each, then the beginning of one.
  return (
    DUMP_START.test(partial) ||
    (partial !== '' &&
      (CHAR_FIELDS_SO_FAR.test(partial) ||
        CHAR_FIELDS_UNDER_OFFSET.test(partial) ||
        HEX_TOKENS_SO_FAR.test(partial) ||
        mayBeWordLineSoFar(partial)))
  );
}

/** What an unfinished line of a hex dump without offsets (`od -An -x`) can be. */
const HEX_TOKENS_SO_FAR = /^(?: [0-9a-fA-F]{2,16})*(?: [0-9a-fA-F]{0,16})?$/;

/**
 * Fields of `od -c` (`   h`, `    `, `  \n`, ` 303`) and the beginning of the next: what an
 * unfinished line of `od -An -c` can be. Other lines that begin with spaces (an indented log
 * line, curl's progress meter) are let out as they come.
 */
const CHAR_FIELDS_SO_FAR =
  /^(?: {3}[ -~]| {2}\\[0abfnrtv]| [0-3][0-7]{2})*(?: {1,3}| {2}\\| [0-3][0-7]?)?$/;

/** The same under the 6 to 16 columns of an offset: `od -bc`'s line of characters. */
const CHAR_FIELDS_UNDER_OFFSET =
  /^ {6,16}(?: {3}[ -~]| {2}\\[0abfnrtv]| [0-3][0-7]{2})*(?: {1,3}| {2}\\| [0-3][0-7]?)?$/;

/** Whether `text` holds a line that may be a dump line: a cheap test before reading it. */
export function mayHoldDump(text: string): boolean {
  return /^(?:[0-9a-fA-F]{6,16}:? +(?:[0-9a-fA-F]{2}|-\d)| [0-9a-fA-F]{2,16} [0-9a-fA-F]{2,16}(?: |\r?$)|(?: +-?\d+){2}|(?:[0-9a-fA-F]{6,16})?(?: {3}[!-~]| {2}\\[0abfnrtv]| [0-7]{3}| {4}){2})/m.test(
    text,
  );
}

/** Every UTF-16 code unit's value as a hex digit (-1: not one): one load, no branch. */
const HEX_VALUE = (() => {
  const table = new Int8Array(0x10000).fill(-1);
  for (let i = 0; i < 16; i++) {
    table['0123456789abcdef'.charCodeAt(i)] = i;
    table['0123456789ABCDEF'.charCodeAt(i)] = i;
  }
  return table;
})();

function hexAt(text: string, at: number): number {
  // charCodeAt past the end is NaN: the table gives undefined, taken as not a digit.
  return HEX_VALUE[text.charCodeAt(at)] ?? -1;
}

const SPACE = 0x20;
/** More hex tokens than a line can hold (`xxd -c 256 -g 1` has 256): not a dump line. */
const MAX_TOKENS = 1024;
/** The scanner's scratch: the hex tokens of the line last read (their start, their length). */
const tokenAt = new Int32Array(MAX_TOKENS);
const tokenLength = new Int32Array(MAX_TOKENS);
const gapBefore = new Int32Array(MAX_TOKENS);

/** How a line reads as a dump line. */
interface LineReading {
  /** Its bytes. */
  n: number;
  /** How many of its tokens are hex (the rest is the column, which looked like hex). */
  tokens: number;
  /** Its tokens are little-endian words (`xxd -e`: the column shows the bytes in order). */
  swapped: boolean;
  /** Where the column's first character stands, or -1 (no column). */
  columnAt: number;
  /** No column, and hex in words (`od -x`, `hexdump`): it may be read either way. */
  eitherOrder: boolean;
}

/**
 * Reads text[start, end) as a dump line: an offset, hex tokens (runs of an even number of hex
 * digits, a space or two apart; `hexdump -C` puts two in the middle), then the column of the
 * bytes' characters (`|…|`, `>…<`, or bare as in `xxd`) or nothing. Where the column itself
 * looks like hex (`xxd` shows the bytes "cafe babe" as that text), fewer tokens are taken.
 * Leaves the tokens in the scratch arrays for `byteAt`/`digitsAt`.
 */
function readLine(text: string, start: number, lineEnd: number): LineReading | undefined {
  if (lineEnd - start > MAX_DUMP_LINE) return undefined;
  const end = lineEnd > start && text.charCodeAt(lineEnd - 1) === 0x0d ? lineEnd - 1 : lineEnd;
  let at = start;
  while (at < end && at - start <= 16 && hexAt(text, at) >= 0) at++;
  // No offset (`od -An`): the line begins with the space before its first token.
  const offsetless = at === start;
  if (!offsetless && (at - start < 6 || at - start > 16)) return undefined;
  if (text.charCodeAt(at) === 0x3a) at++;
  if (text.charCodeAt(at) !== SPACE) return undefined;
  while (at < end && text.charCodeAt(at) === SPACE) at++;
  let count = 0;
  let gap = 1;
  while (at < end && count < MAX_TOKENS) {
    const tokenStart = at;
    while (at < end && hexAt(text, at) >= 0) at++;
    const length = at - tokenStart;
    if (length === 0 || length % 2 !== 0 || length > 16) break;
    if (at < end && text.charCodeAt(at) !== SPACE) break;
    tokenAt[count] = tokenStart;
    tokenLength[count] = length;
    gapBefore[count] = gap;
    count++;
    const after = at;
    while (at < end && text.charCodeAt(at) === SPACE) at++;
    gap = at - after;
  }
  if (count === MAX_TOKENS) return undefined;
  // Bytes and whether any token is a word, for the first k tokens: taken off as k goes down.
  let n = 0;
  let firstWide = -1;
  for (let t = 0; t < count; t++) {
    n += tokenLength[t]! / 2;
    if (firstWide < 0 && tokenLength[t]! > 2) firstWide = t;
  }
  // `od -An -t x1` (`-x`, `-t x2`, `-t x4`): one space before each token, nothing after the
  // last (no column); 6 digits a token are `od -An -o`'s octal words, not read.
  if (offsetless) {
    if (count === 0 || tokenAt[0] !== start + 1 || tokenLength[0] === 6) return undefined;
    for (let t = 1; t < count; t++) if (gapBefore[t] !== 1) return undefined;
    if (!onlySpaces(text, tokenAt[count - 1]! + tokenLength[count - 1]!, end)) return undefined;
    return { n, tokens: count, swapped: false, columnAt: -1, eitherOrder: firstWide >= 0 };
  }
  // Where the column may start: after the last token, or after fewer, where two spaces or more
  // stand (a bounded number of tries: a host's output must not make this quadratic).
  for (let tokens = count, tries = 0; tokens > 0 && tries < MAX_COLUMN_TRIES; tokens--) {
    if (tokens < count) n -= tokenLength[tokens]! / 2;
    if (tokens < count && gapBefore[tokens]! < 2) continue;
    tries++;
    const tokensEnd = tokenAt[tokens - 1]! + tokenLength[tokens - 1]!;
    const wide = firstWide >= 0 && firstWide < tokens;
    if (onlySpaces(text, tokensEnd, end)) {
      // Groups of 6 digits without a column are `od -o`'s octal words (word-dumps.ts).
      if (tokenLength[0] === 6 && tokens === count) return undefined;
      return { n, tokens, swapped: false, columnAt: -1, eitherOrder: wide };
    }
    const columnAt = columnStart(text, tokensEnd, end, n);
    if (columnAt < 0) continue;
    for (const swapped of wide ? [false, true] : [false])
      if (columnShows(text, columnAt, tokens, swapped))
        return { n, tokens, swapped, columnAt, eitherOrder: false };
  }
  return undefined;
}

/** How many places for the column `readLine` tries on one line. */
const MAX_COLUMN_TRIES = 64;

function onlySpaces(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (text.charCodeAt(i) !== SPACE) return false;
  return true;
}

/** Where a column of `n` characters ending the line would start (after spaces), or -1. */
function columnStart(text: string, from: number, end: number, n: number): number {
  const framed = end - n - 2;
  const open = text.charCodeAt(framed);
  const close = text.charCodeAt(end - 1);
  const frames = (open === 0x7c && close === 0x7c) || (open === 0x3e && close === 0x3c);
  if (framed - from >= 1 && frames && onlySpaces(text, from, framed)) return framed + 1;
  if (end - n - from >= 2 && onlySpaces(text, from, end - n)) return end - n;
  return -1;
}

/** Whether the column at `at` shows the bytes of the first `tokens` tokens (`.` if not printable). */
function columnShows(text: string, at: number, tokens: number, swapped: boolean): boolean {
  let i = 0;
  for (let t = 0; t < tokens; t++) {
    const pairs = tokenLength[t]! / 2;
    for (let j = 0; j < pairs; j++, i++) {
      const digits = tokenAt[t]! + 2 * (swapped ? pairs - 1 - j : j);
      const byte = hexAt(text, digits) * 16 + hexAt(text, digits + 1);
      const shown = byte >= 0x20 && byte < 0x7f ? byte : 0x2e;
      if (text.charCodeAt(at + i) !== shown) return false;
    }
  }
  return true;
}

/**
 * Calls `each(digits)` with where each byte's two hex digits stand, byte by byte in the order
 * read, for the tokens `readLine` left in the scratch arrays.
 */
function eachByte(tokens: number, swapped: boolean, each: (digits: number) => void): void {
  for (let t = 0; t < tokens; t++) {
    const pairs = tokenLength[t]! / 2;
    for (let j = 0; j < pairs; j++) each(tokenAt[t]! + 2 * (swapped ? pairs - 1 - j : j));
  }
}

/** Writes the bytes of the tokens `readLine` left in the scratch arrays to `into` from `at`. */
function writeBytes(text: string, tokens: number, swapped: boolean, into: Buffer, at: number) {
  let i = at;
  for (let t = 0; t < tokens; t++) {
    const pairs = tokenLength[t]! / 2;
    const first = tokenAt[t]!;
    for (let j = 0; j < pairs; j++) {
      const d = first + 2 * (swapped ? pairs - 1 - j : j);
      into[i++] = (HEX_VALUE[text.charCodeAt(d)]! << 4) | HEX_VALUE[text.charCodeAt(d + 1)]!;
    }
  }
}

/** The number of bytes on text[start, end) if it is a dump line, else -1. */
function dumpLineBytes(text: string, start: number, end: number): number {
  // Bits and octal words first: a line of hex fails there at its first token, while one of bits
  // would be read as hex in vain (its groups are hex digits too).
  const words = readWordLine(text, start, end);
  if (words >= 0) return words;
  const n = readLine(text, start, end)?.n ?? readCharLine(text, start, end);
  if (n >= 0 || text.charCodeAt(start) !== SPACE) return n;
  // The line of characters under one of octal bytes (`od -bc`): indented, no bytes of its own.
  for (let pad = 6; pad <= 16 && text.charCodeAt(start + pad - 1) === SPACE; pad++)
    if (readCharLine(text, start + pad, end) > 0) return 0;
  return -1;
}

/** What `od -c` writes for a byte after two spaces and a backslash. */
const CHAR_ESCAPES: Record<string, number> = { 0: 0, a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };

/**
 * Reads text[start, end) as a line of a dump of characters (`od -c`, `od -An -c`, `hexdump
 * -c`): an offset (or none), then a field of 4 characters a byte: `   h`, `    ` (a space),
 * `  \n`, ` 303` (octal); the last line may be padded with spaces. Calls `each(field, byte)`
 * for each byte; returns how many, or -1 if the line is not one.
 */
function readCharLine(
  text: string,
  start: number,
  lineEnd: number,
  each?: (field: number, byte: number) => void,
): number {
  if (lineEnd - start > MAX_DUMP_LINE) return -1;
  const end = lineEnd > start && text.charCodeAt(lineEnd - 1) === 0x0d ? lineEnd - 1 : lineEnd;
  let at = start;
  while (at < end && at - start <= 16 && hexAt(text, at) >= 0) at++;
  const offset = at - start;
  if (offset !== 0 && (offset < 6 || offset > 16)) return -1;
  let n = 0;
  let shown = 0;
  for (; at + 4 <= end; at += 4) {
    const byte = fieldByte(text, at);
    if (byte < 0) break;
    if (byte !== 0x20) shown++;
    each?.(at, byte);
    n++;
  }
  if (!onlySpaces(text, at, end)) return -1;
  // Without an offset, a line of spaces or of one field is too common to be taken for a dump.
  if (offset === 0 && (n < 2 || shown === 0)) return -1;
  return n > 0 ? n : -1;
}

/** The byte a 4-character field of `od -c` stands for, or -1. */
function fieldByte(text: string, at: number): number {
  if (text.charCodeAt(at) !== SPACE) return -1;
  const c1 = text.charCodeAt(at + 1);
  const c2 = text.charCodeAt(at + 2);
  const c3 = text.charCodeAt(at + 3);
  if (c1 === SPACE && c2 === SPACE) return c3 >= 0x20 && c3 < 0x7f ? c3 : -1;
  if (c1 === SPACE && c2 === 0x5c) return CHAR_ESCAPES[text[at + 3]!] ?? -1;
  const octal = (c: number) => (c >= 0x30 && c <= 0x37 ? c - 0x30 : -1);
  const [a, b, c] = [octal(c1), octal(c2), octal(c3)];
  if (a < 0 || b < 0 || c < 0 || a > 3) return -1;
  return a * 64 + b * 8 + c;
}

/** A run of consecutive dump lines: where its lines stand and its bytes in `bytes[from, to)`. */
interface Run {
  /** A line of hex (read by readLine), of `od -c` (readCharLine), or of bits or octal words (readWordLine). */
  lines: {
    start: number;
    end: number;
    byte: number;
    /** How many bytes it shows. */
    n: number;
    kind: 'hex' | 'chars' | 'words';
    /** A line of characters under a line showing the same bytes (`od -bc`): its indentation. */
    pad?: number;
    /** Read as `od -t u1` where it could be `od -b` too (its run is one of `od -t u1`). */
    decimalBytes?: boolean;
  }[];
  from: number;
  to: number;
  /** Some line may be read as little-endian words: the run is read that way too. */
  eitherOrder: boolean;
  /** Its last line was read as `od -t u1` (or it was `od -b`: false). */
  decimalBytes?: boolean;
}

/** How many lines ahead an ambiguous line (readsAsUnsignedBytes) looks for its run's kind. */
const BYTE_RUN_LOOKAHEAD = 16;

/**
 * Whether a line ending at `end` that reads as `od -t u1` and `od -b` both (a line of lower-case
 * letters does) is read as the first: as the line before it in its run was (`inRun`), or,
 * beginning a run, as the first line after it that reads one way only is.
 */
function isDecimalByteRun(text: string, end: number, inRun: boolean | undefined): boolean {
  if (inRun !== undefined) return inRun;
  for (let k = 0, at = end + 1; k < BYTE_RUN_LOOKAHEAD && at < text.length; k++) {
    let next = text.indexOf('\n', at);
    if (next < 0) next = text.length;
    const reads = readsAsUnsignedBytes(text, at, next);
    if (reads !== 'ambiguous') return reads === 'only';
    at = next + 1;
  }
  return false;
}

/**
 * The runs of dump lines in `text` from the line at `firstLine` (a line that is not one ends a
 * run), their bytes written to `bytes` in order, and to `swapped` read as words where a line may be.
 */
function readRuns(text: string, bytes: Buffer, swapped: Buffer, firstLine: number): Run[] {
  const runs: Run[] = [];
  let run: Run | undefined;
  let byte = 0;
  for (let start = firstLine; start <= text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const first = byte;
    const prev = run?.lines[run.lines.length - 1];
    const pad = prev && prev.pad === undefined ? companionPad(text, prev, start, end, bytes) : -1;
    if (pad >= 0 && run && prev) {
      run.lines.push({ start, end, byte: prev.byte, n: prev.n, kind: 'chars', pad });
      start = end + 1;
      continue;
    }
    const isHexStart = hexAt(text, start) >= 0;
    const asBytes =
      isHexStart || text.charCodeAt(start) === SPACE
        ? readsAsUnsignedBytes(text, start, end)
        : 'no';
    const decimalBytes =
      asBytes === 'ambiguous' &&
      isDecimalByteRun(text, end, prev === undefined ? undefined : run?.decimalBytes);
    // A line that reads both ways is read both ways: one reading in `bytes`, the other in
    // `swapped` (searched too, as for words of either order). The lines that would say which it is
    // may come much later, or after the stream let the line out.
    const otherReading = (digits: number, base: 8 | 10) =>
      asBytes === 'ambiguous' ? Number.parseInt(text.slice(digits, digits + 3), base) : -1;
    // Bits and octal words first (dumpLineBytes says why); their bytes are written as read.
    const words =
      (isHexStart || text.charCodeAt(start) === SPACE) &&
      readWordLine(
        text,
        start,
        end,
        (b, digits) => {
          const other = otherReading(digits, 8);
          bytes[byte] = b;
          swapped[byte++] = other >= 0 ? other : b;
        },
        decimalBytes,
      ) > 0;
    const reading =
      (isHexStart || text.charCodeAt(start) === SPACE) && !words
        ? readLine(text, start, end)
        : undefined;
    const chars =
      !words &&
      reading === undefined &&
      readCharLine(text, start, end, (field, b) => {
        const other = otherReading(field + 1, 10);
        bytes[byte] = b;
        swapped[byte++] = other >= 0 ? other : b;
      }) > 0;
    if (!chars && !words) byte = first;
    if (chars || words) {
      run ??= { lines: [], from: first, to: first, eitherOrder: false };
      run.lines.push({
        start,
        end,
        byte: first,
        n: byte - first,
        kind: chars ? 'chars' : 'words',
        ...(decimalBytes ? { decimalBytes } : {}),
      });
      run.decimalBytes = words && (decimalBytes || asBytes === 'only');
      if (asBytes === 'ambiguous') run.eitherOrder = true;
      run.to = byte;
    } else if (reading) {
      run ??= { lines: [], from: byte, to: byte, eitherOrder: false };
      run.lines.push({ start, end, byte, n: reading.n, kind: 'hex' });
      if (reading.eitherOrder) run.eitherOrder = true;
      writeBytes(text, reading.tokens, reading.swapped, bytes, byte);
      writeBytes(text, reading.tokens, reading.swapped || reading.eitherOrder, swapped, byte);
      byte += reading.n;
      run.to = byte;
    } else if (run) {
      runs.push(run);
      run = undefined;
    }
    start = end + 1;
  }
  if (run) runs.push(run);
  return runs;
}

/**
 * If text[start, end) is the line of characters `od -bc` writes under a line of octal bytes (the
 * same bytes, its fields under theirs: indented as far as that line's offset), that indentation;
 * else -1.
 */
function companionPad(
  text: string,
  prev: Run['lines'][number],
  start: number,
  end: number,
  bytes: Buffer,
): number {
  if (prev.kind !== 'chars' || prev.n === 0) return -1;
  let pad = 0;
  while (pad < 16 && hexAt(text, prev.start + pad) >= 0) pad++;
  if (pad !== 0 && pad < 6) return -1;
  for (let i = start; i < start + pad; i++) if (text.charCodeAt(i) !== SPACE) return -1;
  let k = 0;
  let same = true;
  const n = readCharLine(text, start + pad, end, (_, b) => {
    if (bytes[prev.byte + k++] !== b) same = false;
  });
  return n === prev.n && same ? pad : -1;
}

/**
 * Which bytes of a run of dump lines to hide: every occurrence of a target, and the piece of
 * one (4+ bytes) a run begins or ends with where `edges` says the run's start or end is its
 * own (a dump of a cut file: `head -c 100 key | xxd`). Undefined: none.
 */
function hiddenBytes(
  bytes: Buffer,
  targets: readonly Buffer[],
  edges: { start: boolean; end: boolean },
  minPiece: number,
): Uint8Array | undefined {
  let hidden: Uint8Array | undefined;
  const hide = (from: number, to: number) => {
    hidden ??= new Uint8Array(bytes.length);
    hidden.fill(1, from, to);
  };
  for (const t of targets) {
    if (t.length === 0) continue;
    for (let at = bytes.indexOf(t); at >= 0; at = bytes.indexOf(t, at + 1)) hide(at, at + t.length);
  }
  if (edges.end) {
    let longest = 0;
    for (const t of targets)
      for (let k = Math.min(t.length - 1, bytes.length); k >= minPiece && k > longest; k--)
        if (bytes.compare(t, 0, k, bytes.length - k) === 0) longest = k;
    if (longest > 0) hide(bytes.length - longest, bytes.length);
  }
  if (edges.start) {
    let longest = 0;
    for (const t of targets)
      for (let k = Math.min(t.length - 1, bytes.length); k >= minPiece && k > longest; k--)
        if (bytes.compare(t, t.length - k, t.length, 0, k) === 0) longest = k;
    if (longest > 0) hide(0, longest);
  }
  return hidden;
}

/** What the stream masker knows around the text it masks: the dump lines before and after it. */
export interface DumpContext {
  /** Dump lines already let out (only read, not returned). */
  before: string;
  /** `before` holds the start of its run of dump lines (or is empty at a run's start). */
  beforeIsStart: boolean;
  /** Text held back after it (only read). */
  after: string;
  /** Nothing comes after `after`: the output ended. */
  afterIsEnd: boolean;
  /** The text goes on with a line begun in what was let out (not a dump line: it would have been held). */
  midLine?: boolean;
}

/** The whole output at once: nothing before, nothing after. */
export const WHOLE_TEXT: DumpContext = {
  before: '',
  beforeIsStart: true,
  after: '',
  afterIsEnd: true,
};

/**
 * `text` with the bytes of `targets` starred in its dump lines: `**` for a byte's hex digits and
 * `*` for its character, so that the dump keeps its layout. A run of dump lines is read as one
 * stream of bytes, so a secret spread over several lines is found; where a run begins or ends
 * (the dump of a cut file), a piece of 4+ bytes of a target there is starred too.
 */
export function maskDumps(
  text: string,
  targets: readonly Buffer[],
  context: DumpContext,
  minPiece: number,
): string {
  const full = context.before + text + context.after;
  const from = context.before.length;
  const to = from + text.length;
  // A dump line holds at most one byte per two characters of it.
  const size = Math.ceil(full.length / 2);
  const inOrder = Buffer.allocUnsafe(size);
  const asWords = Buffer.allocUnsafe(size);
  const starred: number[] = [];
  const firstLine = context.midLine ? full.indexOf('\n') + 1 || full.length + 1 : 0;
  for (const run of readRuns(full, inOrder, asWords, firstLine)) {
    const first = run.lines[0]!;
    const last = run.lines[run.lines.length - 1]!;
    if (last.end <= from || first.start >= to) continue;
    const edges = {
      start: first.start > 0 || context.beforeIsStart,
      end: last.end < full.length || context.afterIsEnd,
    };
    for (const words of run.eitherOrder ? [false, true] : [false]) {
      const bytes = (words ? asWords : inOrder).subarray(run.from, run.to);
      const hidden = hiddenBytes(bytes, targets, edges, minPiece);
      if (!hidden) continue;
      for (const line of run.lines) {
        const next = line.byte + line.n;
        if (!hidden.subarray(line.byte - run.from, next - run.from).includes(1)) continue;
        let byte = line.byte - run.from;
        if (line.kind === 'words') {
          readWordLine(
            full,
            line.start,
            line.end,
            (_, digitsFrom, digitsTo, columnAt) => {
              if (hidden[byte++]) {
                for (let d = digitsFrom; d < digitsTo; d++) starred.push(d);
                if (columnAt >= 0) starred.push(columnAt);
              }
            },
            line.decimalBytes,
          );
          continue;
        }
        if (line.kind === 'chars') {
          // A field's characters, or its last place for a space.
          readCharLine(full, line.start + (line.pad ?? 0), line.end, (field) => {
            if (hidden[byte++])
              for (let c = field + 1; c < field + 4; c++)
                if (full.charCodeAt(c) !== SPACE || c === field + 3) starred.push(c);
          });
          continue;
        }
        const reading = readLine(full, line.start, line.end)!;
        let k = 0;
        eachByte(reading.tokens, reading.swapped || (words && reading.eitherOrder), (d) => {
          if (hidden[byte]) {
            starred.push(d, d + 1);
            // The column shows the bytes in order (only a line read in order has one).
            if (reading.columnAt >= 0) starred.push(reading.columnAt + k);
          }
          byte++;
          k++;
        });
      }
    }
  }
  const inText = starred.filter((at) => at >= from && at < to).sort((a, b) => a - b);
  if (inText.length === 0) return text;
  let out = '';
  let at = from;
  for (const star of inText) {
    if (star < at) continue;
    out += `${full.slice(at, star)}*`;
    at = star + 1;
  }
  return out + full.slice(at, to);
}

/**
 * Where the stream masker must hold back for dumps: an unfinished line that may be a dump line,
 * and the last dump lines until at least `longest - 1` bytes of dump follow the last line let out
 * (a secret of `longest` bytes beginning on a line let out is then seen whole). text.length: none.
 * `atLineStart`: the text begins a line (else it goes on with one let out).
 */
export function dumpHoldFrom(text: string, longest: number, atLineStart: boolean): number {
  const lastBreak = text.lastIndexOf('\n');
  const tail = text.slice(lastBreak + 1);
  // The rest of a line begun in what was let out is not a dump line (that would have been held).
  if (lastBreak < 0 && !atLineStart) return text.length;
  if (tail !== '' && !mayBeDumpLine(tail)) return text.length;
  let hold = tail === '' ? text.length : lastBreak + 1;
  let following = 0;
  for (let end = lastBreak; end >= 0 && following < longest - 1; ) {
    const start = text.lastIndexOf('\n', end - 1) + 1;
    if (start === 0 && !atLineStart) break;
    const n = dumpLineBytes(text, start, end);
    if (n < 0) break;
    hold = start;
    following += n;
    end = start - 1;
  }
  return hold;
}

/**
 * The dump lines that end `text` (let out), at least `longest - 1` bytes of them: what the next
 * text is masked with as its `before`. `isStart`: they begin their run; `textBeginsRun`: the
 * text's first line, if a dump line, begins its run.
 */
export function trailingDumpLines(
  text: string,
  longest: number,
  textBeginsRun: boolean,
): { lines: string; isStart: boolean } {
  if (!text.endsWith('\n')) return { lines: '', isStart: true };
  let from = text.length;
  let bytes = 0;
  for (let end = text.length - 1; end >= 0; ) {
    const start = text.lastIndexOf('\n', end - 1) + 1;
    const n = dumpLineBytes(text, start, end);
    if (n < 0) return { lines: text.slice(from), isStart: true };
    if (bytes >= longest - 1) return { lines: text.slice(from), isStart: false };
    from = start;
    bytes += n;
    end = start - 1;
  }
  // All of the text is dump lines: their run began where the text's did.
  return { lines: text.slice(from), isStart: textBeginsRun };
}
