/**
 * Dump lines whose bytes are not written as hex pairs or characters: `xxd -b` (a byte as 8
 * bits, then the column of characters), `od -o` / `od` without options and `od -d`, with or
 * without offsets (2-byte words in octal or decimal, little-endian). hex-dumps.ts reads them with the other dumps;
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
): number {
  if (lineEnd - start > MAX_WORD_LINE) return -1;
  const end = lineEnd > start && text.charCodeAt(lineEnd - 1) === 0x0d ? lineEnd - 1 : lineEnd;
  let at = start;
  while (at < end && at - start <= 16 && isHexDigit(text.charCodeAt(at))) at++;
  // `od -An -o`: no offset, the line begins with the space before its first word.
  if (at !== start && (at - start < 6 || at - start > 16)) return -1;
  if (at !== start && text.charCodeAt(at) === 0x3a) return readBitsLine(text, at + 1, end, each);
  if (text.charCodeAt(at) !== SPACE) return -1;
  const octal = readOctalWords(text, at, end, each);
  return octal >= 0 ? octal : readDecimalWords(text, at, end, each);
}

/** A field of `od -d` (`-t u2`): 6 characters, spaces then the word's value in decimal. */
const DECIMAL_FIELD = 6;

/**
 * `  29557  8250`: 2-byte words (little-endian) in decimal, each right-aligned in a field of 6
 * characters, to the end. A field's digits name both its bytes.
 */
function readDecimalWords(text: string, from: number, end: number, each?: EachWordByte): number {
  const values: number[] = [];
  let at = from;
  for (; at + DECIMAL_FIELD <= end; at += DECIMAL_FIELD) {
    const value = decimalFieldAt(text, at);
    if (value < 0) break;
    values.push(value);
  }
  if (values.length === 0) return -1;
  for (let i = at; i < end; i++) if (text.charCodeAt(i) !== SPACE) return -1;
  if (each)
    for (const [w, value] of values.entries()) {
      const fieldEnd = from + DECIMAL_FIELD * (w + 1);
      let digits = fieldEnd - DECIMAL_FIELD;
      while (text.charCodeAt(digits) === SPACE) digits++;
      each(value & 0xff, digits, fieldEnd, -1);
      each(value >> 8, digits, fieldEnd, -1);
    }
  return 2 * values.length;
}

/** The value of the `od -d` field at `at` (spaces, then 1-5 digits to its end, <= 65535), or -1. */
function decimalFieldAt(text: string, at: number): number {
  let i = at;
  while (i < at + DECIMAL_FIELD && text.charCodeAt(i) === SPACE) i++;
  if (i === at || i === at + DECIMAL_FIELD) return -1;
  let value = 0;
  for (; i < at + DECIMAL_FIELD; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value <= 0xffff ? value : -1;
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

/** ` 071565 071145`: words of 6 octal digits (at most 177777), a space before each, to the end. */
function readOctalWords(text: string, from: number, end: number, each?: EachWordByte): number {
  let at = from;
  let words = 0;
  while (at + 7 <= end && text.charCodeAt(at) === SPACE && octalWordAt(text, at + 1, end) >= 0) {
    at += 7;
    words++;
  }
  if (words === 0) return -1;
  for (let i = at; i < end; i++) if (text.charCodeAt(i) !== SPACE) return -1;
  if (each)
    for (let w = 0; w < words; w++) {
      const digits = from + 1 + 7 * w;
      const value = octalWordAt(text, digits, end);
      each(value & 0xff, digits, digits + 6, -1);
      each(value >> 8, digits, digits + 6, -1);
    }
  return 2 * words;
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

/** The word written as 6 octal digits (at most 177777) at `at` and ending there, or -1. */
function octalWordAt(text: string, at: number, end: number): number {
  let value = 0;
  for (let i = at; i < at + 6; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 7 || (i === at && digit > 1)) return -1;
    value = value * 8 + digit;
  }
  // A word ends there: a longer run of digits is not one.
  return at + 6 >= end || text.charCodeAt(at + 6) === SPACE ? value : -1;
}
