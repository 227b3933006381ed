/**
 * Dump lines whose bytes are not written as hex pairs or characters: `xxd -b` (a byte as 8
 * bits, then the column of characters), `od -o` / `od` without options and `od -d`, with or
 * without offsets (2-byte words in octal or decimal, little-endian), words of 2, 4 or 8
 * bytes in octal or in signed or unsigned decimal (`od -t d2`, `-t o4`, `-t u4`, `-t d8`), and
 * bytes in decimal (`od -t d1`, `od -t u1`).
 * hex-dumps.ts reads them with the other dumps;
 * `od -b` is read there as a dump of characters (its octal fields are those of `od -c`).
 */

/** Calls back with where a byte's digits stand, and its character in the column (-1: none). */
export type EachWordByte = (
  byte: number,
  digitsFrom: number,
  digitsTo: number,
  columnAt: number,
) => void;

/** The longest line read (as hex-dumps.ts's MAX_DUMP_LINE). */
const MAX_WORD_LINE = 16_384;
const SPACE = 0x20;

/**
 * Reads text[start, lineEnd) as a line of `xxd -b` (`00000000: 01101000 …  h…`: an offset and
 * `:`) or of `od -o` (`0000000 071565 …`: an offset, or none with `-An`, then words of 6 octal
 * digits), calling `each` for each byte in order (a word's two bytes both name the word's six
 * digits: neither can be shown alone). Returns how many bytes, or -1 if the line is not one.
 */
export function readWordLine(
  text: string,
  start: number,
  lineEnd: number,
  each?: EachWordByte,
  asDecimalBytes = false,
): number {
  if (lineEnd - start > MAX_WORD_LINE) return -1;
  const end = lineEnd > start && text.charCodeAt(lineEnd - 1) === 0x0d ? lineEnd - 1 : lineEnd;
  let at = start;
  while (at < end && at - start <= 16 && isHexDigit(text.charCodeAt(at))) at++;
  // `od -An -o`: no offset, the line begins with the space before its first word.
  if (at !== start && (at - start < 6 || at - start > 16)) return -1;
  if (at !== start && text.charCodeAt(at) === 0x3a) return readBitsLine(text, at + 1, end, each);
  if (text.charCodeAt(at) !== SPACE) return -1;
  for (const format of WORD_FORMATS) {
    const n = readWords(text, at, end, format, each, asDecimalBytes);
    if (n >= 0) return n;
  }
  return -1;
}

/**
 * How text[start, lineEnd) reads as a line of `od -t u1`: not at all, only so, or also as one of
 * `od -b` (each byte three octal digits that are decimal ones too: ` 150 165 156`, "hun" either
 * way). readWordLine leaves an ambiguous line to `od -b` unless told its run is `od -t u1`.
 */
export function readsAsUnsignedBytes(
  text: string,
  start: number,
  lineEnd: number,
): 'no' | 'only' | 'ambiguous' {
  const end = lineEnd > start && text.charCodeAt(lineEnd - 1) === 0x0d ? lineEnd - 1 : lineEnd;
  let at = start;
  while (at < end && at - start <= 16 && isHexDigit(text.charCodeAt(at))) at++;
  if (at !== start && (at - start < 6 || at - start > 16)) return 'no';
  const n = readWords(text, at, end, UNSIGNED_BYTES, undefined, true);
  if (n <= 0) return 'no';
  return isOctalBytes(text, at, at + 4 * n) ? 'ambiguous' : 'only';
}

/**
 * How `od` writes words: each in a field of `width` characters, right-aligned after at least one
 * space, little-endian; in octal (`-o`, `-t o2`, `-t o4`, `-t o8`: all the digits, zero-padded)
 * or in decimal (`-d` and `-t u2`, `-t d2` signed, `-t u4`, `-t d4`, and `-t u8` / `-t d8`,
 * whose fields are as wide: a `-` there is read as the word's two's complement either way).
 */
interface WordFormat {
  width: number;
  bytes: 1 | 2 | 4 | 8;
  octal: boolean;
  /** A `-` may stand before the digits. */
  signed: boolean;
}

/** `od -t u1`: a byte in a field of 4. */
const UNSIGNED_BYTES: WordFormat = { width: 4, bytes: 1, octal: false, signed: false };

/**
 * Octal first: its fields are all digits, zero-padded, so a decimal field is never read as one.
 * Bytes last: a field of 4 or 5 holds no word of 2 bytes or more.
 */
const WORD_FORMATS: readonly WordFormat[] = [
  { width: 7, bytes: 2, octal: true, signed: false },
  { width: 12, bytes: 4, octal: true, signed: false },
  { width: 23, bytes: 8, octal: true, signed: false },
  { width: 6, bytes: 2, octal: false, signed: false },
  { width: 7, bytes: 2, octal: false, signed: true },
  { width: 11, bytes: 4, octal: false, signed: false },
  { width: 12, bytes: 4, octal: false, signed: true },
  { width: 21, bytes: 8, octal: false, signed: true },
  UNSIGNED_BYTES,
  { width: 5, bytes: 1, octal: false, signed: true },
];

/** The largest unsigned value of a word, in decimal: a longer or larger field is not one. */
const WORD_MAX: Record<WordFormat['bytes'], string> = {
  1: '255',
  2: '65535',
  4: '4294967295',
  8: '18446744073709551615',
};

/**
 * The largest magnitude of a signed word in decimal, positive and negative (`od -t d1` prints
 * -128..127, never 200 or -200). 8 bytes: `-t u8` and `-t d8` share their field, read as either.
 */
const SIGNED_MAX: Partial<Record<WordFormat['bytes'], { positive: string; negative: string }>> = {
  1: { positive: '127', negative: '128' },
  2: { positive: '32767', negative: '32768' },
  4: { positive: '2147483647', negative: '2147483648' },
};

/** The largest first digit of each word size's octal field (`177777`, `37777777777`, …). */
const OCTAL_FIRST_MAX: Record<WordFormat['bytes'], number> = { 1: 3, 2: 1, 4: 3, 8: 1 };

/**
 * Reads fields of `format` from `from` to the end (the last line may end in spaces), calling
 * `each` for each byte: all of a word's bytes name the field's digits (and its `-`), as none can
 * be shown alone. Returns how many bytes, or -1 if the line is not one of these.
 */
function readWords(
  text: string,
  from: number,
  end: number,
  format: WordFormat,
  each?: EachWordByte,
  asDecimalBytes = false,
): number {
  let at = from;
  let words = 0;
  for (; at + format.width <= end && fieldDigits(text, at, format) >= 0; at += format.width)
    words++;
  if (words === 0) return -1;
  for (let i = at; i < end; i++) if (text.charCodeAt(i) !== SPACE) return -1;
  // A line of `od -b` is read as one (hex-dumps.ts), unless its run is one of `od -t u1`.
  if (format === UNSIGNED_BYTES && !asDecimalBytes && isOctalBytes(text, from, at)) return -1;
  if (each)
    for (let w = 0; w < words; w++) {
      const field = from + format.width * w;
      const digits = fieldDigits(text, field, format);
      const fieldEnd = field + format.width;
      const written = text.slice(digits, fieldEnd);
      // A negative word is its two's complement; 8 bytes go past a double's exact integers.
      if (format.bytes === 8) {
        let value = BigInt.asUintN(64, BigInt(format.octal ? `0o${written}` : written));
        for (let b = 0; b < 8; b++, value >>= 8n) each(Number(value & 0xffn), digits, fieldEnd, -1);
        continue;
      }
      const parsed = Number.parseInt(written, format.octal ? 8 : 10);
      let value = parsed < 0 ? parsed + 2 ** (8 * format.bytes) : parsed;
      for (let b = 0; b < format.bytes; b++, value = Math.floor(value / 256))
        each(value % 256, digits, fieldEnd, -1);
    }
  return format.bytes * words;
}

/**
 * Where the digits (or the `-`) of the field at `at` begin, if it is one of `format`: a space,
 * then all octal digits; or spaces, maybe a `-`, then decimal digits to its end, within the
 * word's range. Else -1.
 */
function fieldDigits(text: string, at: number, format: WordFormat): number {
  const fieldEnd = at + format.width;
  if (text.charCodeAt(at) !== SPACE) return -1;
  if (format.octal) {
    for (let i = at + 1; i < fieldEnd; i++) {
      const digit = text.charCodeAt(i) - 0x30;
      if (digit < 0 || digit > 7 || (i === at + 1 && digit > OCTAL_FIRST_MAX[format.bytes]))
        return -1;
    }
    return at + 1;
  }
  let i = at + 1;
  while (i < fieldEnd && text.charCodeAt(i) === SPACE) i++;
  const sign = i;
  if (format.signed && text.charCodeAt(i) === 0x2d) i++;
  const first = i;
  if (first === fieldEnd) return -1;
  for (; i < fieldEnd; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
  }
  const signedMax = format.signed ? SIGNED_MAX[format.bytes] : undefined;
  const max = signedMax
    ? first > sign
      ? signedMax.negative
      : signedMax.positive
    : WORD_MAX[format.bytes];
  const n = fieldEnd - first;
  // `od -b` writes ` 012`; a decimal field has no leading zero.
  if (n > 1 && text.charCodeAt(first) === 0x30) return -1;
  // Compared as strings of digits: no number is made for a field that is not one.
  if (n > max.length || (n === max.length && text.slice(first, fieldEnd) > max)) return -1;
  return sign;
}

/** Whether text[from, to) is fields of `od -b`: a space, then 3 octal digits, the first 0-3. */
function isOctalBytes(text: string, from: number, to: number): boolean {
  for (let at = from; at < to; at += 4) {
    if (text.charCodeAt(at) !== SPACE) return false;
    for (let i = at + 1; i < at + 4; i++) {
      const digit = text.charCodeAt(i) - 0x30;
      if (digit < 0 || digit > 7 || (i === at + 1 && digit > 3)) return false;
    }
  }
  return true;
}

/**
 * Whether an unfinished line may still become a line of words without an offset (`od -An -t
 * d2`): whole fields of one format, then the beginning of one. A line that does not begin with
 * a space is not looked at.
 */
export function mayBeWordLineSoFar(partial: string): boolean {
  if (partial.charCodeAt(0) !== SPACE) return false;
  for (const format of WORD_FORMATS) {
    let at = 0;
    while (at + format.width <= partial.length && fieldDigits(partial, at, format) >= 0)
      at += format.width;
    const rest = partial.slice(at);
    if (rest === '' && at > 0) return true;
    if (rest.length < format.width && (format.octal ? /^ [0-7]*$/ : /^ +-?\d*$/).test(rest))
      return true;
  }
  return false;
}

/**
 * ` 01101000 01110101  hu`: bytes of 8 bits, in groups (`-g`: one or more bytes each) with a
 * space after each, then the column after a space.
 */
function readBitsLine(text: string, from: number, end: number, each?: EachWordByte): number {
  if (text.charCodeAt(from) !== SPACE) return -1;
  let at = from + 1;
  let n = 0;
  while (at < end) {
    let run = 0;
    while (at + run < end && isBit(text.charCodeAt(at + run))) run++;
    if (run === 0 || run % 8 !== 0 || text.charCodeAt(at + run) !== SPACE) break;
    n += run / 8;
    at += run + 1;
  }
  // The column holds a character a byte and ends the line; the last line pads before it.
  const columnAt = end - n;
  if (n === 0 || columnAt - at < 1) return -1;
  for (let i = at; i < columnAt; i++) if (text.charCodeAt(i) !== SPACE) return -1;
  // The column shows the bytes (`.` for one not printable); then each byte is reported.
  for (let pass = 0; pass < (each ? 2 : 1); pass++) {
    let digits = from + 1;
    for (let i = 0; i < n; i++, digits += 8) {
      if (text.charCodeAt(digits) === SPACE) digits++;
      const byte = bitsAt(text, digits);
      const shown = byte >= 0x20 && byte < 0x7f ? byte : 0x2e;
      if (pass === 0 && text.charCodeAt(columnAt + i) !== shown) return -1;
      if (pass === 1) each?.(byte, digits, digits + 8, columnAt + i);
    }
  }
  return n;
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function isBit(c: number): boolean {
  return c === 0x30 || c === 0x31;
}

/** The byte written as 8 bits at `at`, or -1. */
function bitsAt(text: string, at: number): number {
  let value = 0;
  for (let i = at; i < at + 8; i++) {
    const bit = text.charCodeAt(i) - 0x30;
    if (bit !== 0 && bit !== 1) return -1;
    value = value * 2 + bit;
  }
  return value;
}
