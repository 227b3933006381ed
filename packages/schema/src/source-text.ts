import type { Problem } from './problem.js';

/** Larger than any sane runbook, inventory or trust store; protects against memory blow-ups. */
export const MAX_SOURCE_BYTES = 1024 * 1024;

/** One decoder for every file: `fatal` makes invalid UTF-8 throw instead of turning into U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The text of a source file, or the one problem that makes it no text at all: too large, UTF-16
 * or UTF-32, a NUL byte, a byte that is not UTF-8. Every problem but the size has the line and
 * column of the first bad byte, so that an editor can go there. A UTF-8 byte order mark is
 * dropped. The column counts UTF-16 code units, as the YAML parser's positions do.
 */
export function decodeSourceText(
  file: string,
  input: string | Uint8Array,
): { text: string } | { problem: Problem } {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (size > MAX_SOURCE_BYTES) {
    return {
      problem: {
        file,
        line: 0,
        col: 0,
        rule: 'file-too-large',
        message: `file is ${size} bytes; the limit is ${MAX_SOURCE_BYTES} bytes (1 MiB): split it or remove generated content`,
      },
    };
  }
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    const wide = wideEncoding(input);
    if (wide) {
      return {
        problem: {
          file,
          line: 1,
          col: 1,
          rule: wide === 'UTF-16' ? 'utf16' : 'utf32',
          message: `the file is ${wide} text (it starts with a ${wide} byte order mark): save it as UTF-8`,
        },
      };
    }
    try {
      text = utf8.decode(input);
    } catch {
      const at = firstInvalidUtf8(input);
      const nul = input.indexOf(0);
      if (nul >= 0 && nul < at)
        return { problem: nulProblem(file, utf8.decode(input.subarray(0, nul))) };
      const before = utf8.decode(input.subarray(0, at));
      const byte = input[at]!.toString(16).toUpperCase().padStart(2, '0');
      return {
        problem: {
          file,
          ...positionAt(before, before.length),
          rule: 'not-utf8',
          message: `byte 0x${byte} is not valid UTF-8 (Latin-1 or Windows-1252 text?): save the file as UTF-8`,
        },
      };
    }
  }
  const nul = text.indexOf('\u0000');
  if (nul >= 0) return { problem: nulProblem(file, text.slice(0, nul)) };
  return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
}

function nulProblem(file: string, before: string): Problem {
  return {
    file,
    ...positionAt(before, before.length),
    rule: 'binary-file',
    message:
      'NUL byte: a text file holds none, so this file is binary or UTF-16; check the path, or save it as UTF-8',
  };
}

function wideEncoding(bytes: Uint8Array): 'UTF-16' | 'UTF-32' | undefined {
  const [a, b, c, d] = bytes;
  if (
    (a === 0xff && b === 0xfe && c === 0 && d === 0) ||
    (a === 0 && b === 0 && c === 0xfe && d === 0xff)
  )
    return 'UTF-32';
  if ((a === 0xff && b === 0xfe) || (a === 0xfe && b === 0xff)) return 'UTF-16';
  return undefined;
}

/**
 * Offset of the first byte that starts an ill-formed UTF-8 sequence (Unicode table 3-7:
 * no overlong forms, no surrogates, nothing above U+10FFFF); the length when there is none.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return i;
    if (i + need >= n) return i; // truncated at the end of the file
    const second = bytes[i + 1]!;
    if (second < lo || second > hi) return i;
    for (let k = 2; k <= need; k++) {
      const c = bytes[i + k]!;
      if (c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return n;
}

/** 1-based line and column of `offset` in `text`; lines end at LF. */
export function positionAt(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}
