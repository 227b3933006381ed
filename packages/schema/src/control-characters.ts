/*
 * Control characters: C0 (U+0000-U+001F), DEL (U+007F) and C1 (U+0080-U+009F). A terminal acts
 * on them instead of showing them (ESC starts a sequence that can clear the screen or rewrite a
 * line, CR returns to the start of the line), so text holding them can show a reviewer something
 * other than what it says.
 */

// The names of the C0 and C1 controls (ECMA-48), for messages that never show the character.
const c0Names =
  'NUL SOH STX ETX EOT ENQ ACK BEL BS TAB LF VT FF CR SO SI DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM SUB ESC FS GS RS US'.split(
    ' ',
  );
const c1Names =
  'PAD HOP BPH NBH IND NEL SSA ESA HTS HTJ VTS PLD PLU RI SS2 SS3 DCS PU1 PU2 STS CCH MW SPA EPA SOS SGCI SCI CSI ST OSC PM APC'.split(
    ' ',
  );

/**
 * The bidirectional embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069):
 * they make a terminal or an editor show the text around them in another order than it is
 * written and runs ("Trojan Source"), so a runbook may not hold them either.
 */
const bidiNames: Record<number, string> = {
  8234: 'LRE',
  8235: 'RLE',
  8236: 'PDF',
  8237: 'LRO',
  8238: 'RLO',
  8294: 'LRI',
  8295: 'RLI',
  8296: 'FSI',
  8297: 'PDI',
};

/** Whether `code` is one of the bidirectional controls above. */
export function isBidiControl(code: number): boolean {
  return bidiNames[code] !== undefined;
}

/** `U+001B (ESC)`: the code point and its name, never the character itself. */
export function describeControl(code: number): string {
  const name =
    code < 0x20
      ? c0Names[code]
      : code === 0x7f
        ? 'DEL'
        : code <= 0x9f
          ? c1Names[code - 0x80]
          : bidiNames[code];
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}${name ? ` (${name})` : ''}`;
}

/** Why a reviewer must not meet this character in a text they review: what a terminal does with it. */
export function controlRisk(code: number): string {
  return isBidiControl(code)
    ? 'it makes a terminal or editor show the text around it in another order than it runs, so a reviewer would not see what runs'
    : 'a terminal acts on it instead of showing it, so a reviewer would not see what runs';
}

/**
 * Control characters a text file may not hold as they are: all but tab and line feed, a carriage
 * return only right before a line feed (CRLF line endings), and the bidirectional controls.
 */
const rawControl =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|\r(?!\n)/g;

// Any of them, CR included: a plain character class, which the regular expression engine scans
// for far faster than the alternation above. Most texts hold none.
const anyRawControl = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** Offsets of the control characters in `text` that no text file needs; the first of each line. */
export function findRawControls(text: string): number[] {
  const found: number[] = [];
  if (!anyRawControl.test(text)) return found;
  let lineEnd = -1;
  rawControl.lastIndex = 0;
  for (let m = rawControl.exec(text); m; m = rawControl.exec(text)) {
    if (m.index < lineEnd) continue;
    found.push(m.index);
    lineEnd = text.indexOf('\n', m.index);
    if (lineEnd < 0) break;
  }
  return found;
}

const anyControl = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const controlButLineBreaks = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** Whether a string holds any control character (a test: no match to build, as exec would). */
export function hasControl(value: string): boolean {
  return anyControl.test(value);
}

/** The first control character a string may not hold: any, or any but tab and line feed. */
export function forbiddenControl(value: string, allowLineBreaks: boolean): number | undefined {
  const m = (allowLineBreaks ? controlButLineBreaks : anyControl).exec(value);
  return m ? m[0].charCodeAt(0) : undefined;
}

const simpleEscapes: Record<string, number> = {
  '0': 0x00,
  a: 0x07,
  b: 0x08,
  t: 0x09,
  '\t': 0x09,
  n: 0x0a,
  v: 0x0b,
  f: 0x0c,
  r: 0x0d,
  e: 0x1b,
  N: 0x85,
};
const hexLengths: Record<string, number> = { x: 2, u: 4, U: 8 };

/**
 * The first escape in the double-quoted string (YAML or JSON) at `start`..`end` of `text` that
 * stands for a character `isWanted` accepts: its offset, how it is written and the character's
 * code. Undefined when the string is not double-quoted or has no such escape.
 */
export function findEscape(
  text: string,
  start: number,
  end: number,
  isWanted: (code: number) => boolean,
): { offset: number; written: string; code: number } | undefined {
  if (text.charCodeAt(start) !== 0x22) return undefined;
  for (let k = start + 1; k < end - 1; k++) {
    if (text.charCodeAt(k) !== 0x5c) continue;
    const kind = text[k + 1]!;
    const hex = hexLengths[kind];
    let code: number | undefined;
    let length = 2;
    if (hex !== undefined) {
      code = Number.parseInt(text.slice(k + 2, k + 2 + hex), 16);
      length += hex;
    } else {
      code = simpleEscapes[kind];
    }
    if (code !== undefined && isWanted(code))
      return { offset: k, written: text.slice(k, k + length), code };
    k += length - 1;
  }
  return undefined;
}

/*
 * Shown, not acted on: how a terminal renderer writes out the control characters of text it did
 * not write itself (the CLI's terminal-safe.ts says why).
 */

/**
 * C0 except tab and newline, DEL, C1 (U+0080–U+009F: U+009B alone is a CSI), and every format
 * character (Unicode category Cf): the bidirectional marks, embedding, override and isolate
 * controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), which make a terminal show
 * the text around them in another order than it is written and runs, and the invisible ones
 * (zero-width space and joiners U+200B–U+200D, word joiner and invisible operators
 * U+2060–U+2064, U+FEFF, the soft hyphen U+00AD, tag characters U+E0000–U+E007F…), which make
 * `web-01\u200b` print as `web-01`, another host's name.
 */
export const SHOWN_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\p{Cf}]/gu;
/** How `showControls` writes out one control character. */
export const writtenControl = (c: string): string => {
  const code = c.codePointAt(0)!;
  if (code > 0xffff) return `\\u{${code.toString(16)}}`;
  return code > 0xff
    ? `\\u${code.toString(16).padStart(4, '0')}`
    : `\\x${code.toString(16).padStart(2, '0')}`;
};

/**
 * `text` with each control character written out as `\xHH` (ESC as `\x1b`), a format one
 * (bidirectional, zero-width) as `\uHHHH` (`\u202e`, `\u200b`), or `\u{HHHHH}` past U+FFFF;
 * tab and newline kept.
 */
export function showControls(text: string): string {
  return text.replace(SHOWN_CONTROL, writtenControl);
}

/** A newline, or a line or paragraph separator (U+2028, U+2029): what `showControls` keeps. */
const LINE_BREAK = /[\n\u2028\u2029]/gu;

/**
 * `text` as `showControls` shows it, and kept on its line: a newline is written out too (`\x0a`),
 * as are U+2028 and U+2029. For a value someone else wrote, shown in a line or a table cell of
 * ours (an alert's labels in `alerts show`): its line break would print a line of its choosing.
 */
export function showControlsOnLine(text: string): string {
  return showControls(text).replace(LINE_BREAK, writtenControl);
}
