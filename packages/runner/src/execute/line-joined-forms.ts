import { literalAlternation } from './literal-alternation.js';
import { plainFinder } from './plain-finder.js';
import type { Span } from './wrapped-encodings.js';

/**
 * Base64 and hex forms of a secret wrapped at any width (`base64 -w 72`, `xxd -p -c 16`, a
 * `fold -w 20` of a token), with LF or CR LF line ends, starting at any column: the masker's
 * targets made only of base64 (and base64url, hex) characters are looked for in the text with
 * the line breaks between such characters taken out. wrapped-encodings.ts knows the usual widths
 * (76, 64, 60) by their line breaks; this finds the others.
 *
 * A target is taken across a line break only where the line before the break is a wrapped line:
 * nothing but base64 characters (after an indentation), WRAP_MIN to WRAP_MAX of them. Ordinary
 * output (`Service started` then a line beginning with a letter) is not read as one, and the
 * stream masker holds back only such lines (see `holdFrom`), not every word that ends a line.
 *
 * Cost in ordinary output: one look at each line break (the characters on both sides), and a
 * set lookup of the three characters around it when both sides are base64 characters; only
 * where those three characters stand in a target is the run of lines around it joined and
 * searched.
 */
export interface JoinedFormFinder {
  /**
   * Where targets crossing a line break stand in `text`, whole (line breaks and CRs inside).
   * `atLineStart`: the text begins a line (else its first line goes on with one shown before);
   * not needed since a wrapped line may follow other text on its line, kept for the callers.
   */
  find(text: string, atLineStart: boolean): Span[];
  /**
   * Where the stream masker must hold back from (text.length: nowhere): the start of an
   * unfinished line that may still become a wrapped line, and of a wrapped line that ends
   * `text` with the beginning of a target the next line may go on with. `startIn(joined)`: the
   * first index of `joined` where the rest of it begins a target (joined.length: none).
   */
  holdFrom(text: string, atLineStart: boolean, startIn: (joined: string) => number): number;
  /**
   * `at`, or the start of its line if the line may be a wrapped line up to `at` (an indentation,
   * then base64 characters): whether it is one depends on where it begins, so the stream masker
   * never cuts inside one.
   */
  lineStartAround(text: string, at: number, atLineStart: boolean): number;
  /**
   * Where wrapped lines that end `text` begin a target they do not finish, MIN_JOINED characters
   * of it or more (output that stopped inside a form wrapped at any width), else text.length:
   * shown, they would be a piece of it. `startIn` as for holdFrom.
   */
  pieceAtEnd(text: string, atLineStart: boolean, startIn: (joined: string) => number): number;
  /**
   * The longest piece (4+ characters) of a target crossing a line break that `text` begins with
   * (the end of a target) or ends with (its beginning), for the journal's copy cut inside a
   * form, or a capture that stopped in one: where it stands, or undefined.
   */
  pieceAt(text: string, edge: 'start' | 'end'): Span | undefined;
  /** The targets it looks for. */
  targets: readonly string[];
}

/** The shortest target looked for across line breaks (the masker's MIN_ENCODED_FORM). */
const MIN_JOINED = 8;
/**
 * The base64 characters a wrapped line holds: `xxd -p -c 4` writes 8, `base64 -w 8` as many; a
 * longer line is not wrapped (`base64 -w 0`) and is not held back while unfinished. The floor is
 * the shortest form looked for (MIN_JOINED): a form on narrower lines would be read across two
 * breaks or more of short lines (`done`, `1234`), which ordinary output is full of; a line of 8
 * alone is as rare in it as the form's 8 characters themselves.
 */
const WRAP_MIN = 2;
const WRAP_MAX = 1024;
/** The longest indentation before a wrapped line (a YAML block scalar). */
const MAX_INDENT = 64;

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

/** A-Z a-z 0-9 + / = and base64url's - _: what wrapped base64 and hex lines hold. */
const IS_BASE64 = (() => {
  const table = new Uint8Array(0x10000);
  for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_')
    table[c.charCodeAt(0)] = 1;
  return table;
})();

const BASE64_ONLY = /^[A-Za-z0-9+/=_-]+$/;

function isBase64(text: string, at: number): boolean {
  // Past either end charCodeAt is NaN: the table gives undefined.
  return IS_BASE64[text.charCodeAt(at)] === 1;
}

/** The longest line number of a label (`nl`, `cat -n`). */
const MAX_NUMBER = 10;
/** The longest run of quote marks and their spaces in a label (`> > `). */
const MAX_QUOTES = 16;

/**
 * `at` (a line's start), past an indentation (of at most MAX_INDENT) and a label that stands
 * there: a line number and its tab (`nl`, `cat -n`), or quote marks `>`, `#`, `|` each maybe
 * followed by spaces (`sed 's/^/> /'`). A form piped through one keeps its lines' labels.
 */
function afterIndent(text: string, at: number): number {
  let i = at;
  while (i - at < MAX_INDENT && isIndent(text, i)) i++;
  let d = i;
  while (d - i < MAX_NUMBER && isDigit(text.charCodeAt(d))) d++;
  if (d > i && text.charCodeAt(d) === TAB) {
    i = d + 1;
    while (i - d < MAX_INDENT && isIndent(text, i)) i++;
    return i;
  }
  const marks = i;
  while (i - marks < MAX_QUOTES && isQuoteMark(text.charCodeAt(i))) {
    i++;
    while (i - marks < MAX_QUOTES && text.charCodeAt(i) === SPACE) i++;
  }
  return i;
}

/**
 * Where the last line of `text` ends: the text's end, or the last break when only an indentation
 * and a label (so far) follow it (the next line has begun, no form on it yet).
 */
function lastLineLabelOnly(text: string, soFar = true): number {
  const lastBreak = text.lastIndexOf('\n');
  if (lastBreak < 0) return text.length;
  return lineStartBefore(text, text.length, true, soFar) === lastBreak + 1
    ? lastBreak
    : text.length;
}

function isDigit(unit: number): boolean {
  return unit >= 0x30 && unit <= 0x39;
}

function isQuoteMark(unit: number): boolean {
  return unit === 0x3e || unit === 0x23 || unit === 0x7c;
}

/**
 * Whether text[lineStart, end) is what a line's indentation and label (afterIndent) may be so
 * far: nothing, an indentation, quote marks, or a line number whose tab has not come yet.
 */
function isLabelSoFar(text: string, lineStart: number, end: number): boolean {
  const body = afterIndent(text, lineStart);
  if (body >= end) return true;
  let i = body;
  while (i < end && i - body < MAX_NUMBER && isDigit(text.charCodeAt(i))) i++;
  return i === end && i > body && /^[ \t]*$/.test(text.slice(lineStart, body));
}

/**
 * The start of the line `at` is in, if what stands before `at` on it is an indentation and a
 * label (so far, when `soFar`); else -1. A line begun before the text (no break before it) is
 * one only `atLineStart`.
 */
function lineStartBefore(text: string, at: number, atLineStart: boolean, soFar = false): number {
  const limit = MAX_INDENT * 2 + MAX_NUMBER + MAX_QUOTES + 1;
  const lineStart = text.lastIndexOf('\n', at - 1) + 1;
  if (at - lineStart > limit || (lineStart === 0 && !atLineStart)) return -1;
  if (soFar) return isLabelSoFar(text, lineStart, at) ? lineStart : -1;
  return afterIndent(text, lineStart) === at ? lineStart : -1;
}

function isIndent(text: string, at: number): boolean {
  const unit = text.charCodeAt(at);
  return unit === SPACE || unit === TAB;
}

/** Whether the characters before `at` back to the line's start are an indentation and a label (or none). */
function beginsLine(text: string, at: number, atLineStart: boolean): boolean {
  return lineStartBefore(text, at, atLineStart) >= 0;
}

/**
 * Whether the line whose base64 characters end at `end` (a break follows) is a wrapped line:
 * WRAP_MIN to WRAP_MAX of them, alone on their line or, on the first line of a form, after other
 * text (`token: ` or `"data": "` printed before `base64 -w 40` output); a run that begins a
 * streamed text is taken as after text too.
 */
function isWrappedLine(text: string, end: number): boolean {
  let i = end;
  while (i > 0 && end - i <= WRAP_MAX && isBase64(text, i - 1)) i--;
  const n = end - i;
  return n >= WRAP_MIN && n <= WRAP_MAX;
}

function gram(a: number, b: number, c: number): number {
  return (a << 14) | (b << 7) | c;
}

/**
 * `candidates`: the masker's plain targets; those made only of base64 characters, 8 or more,
 * are looked for across line breaks. Undefined when there are none.
 */
export function joinedFormFinder(candidates: readonly string[]): JoinedFormFinder | undefined {
  const targets = [
    ...new Set(candidates.filter((t) => t.length >= MIN_JOINED && BASE64_ONLY.test(t))),
  ].sort((a, b) => b.length - a.length);
  if (targets.length === 0) return undefined;
  // Each target's three-character runs: a target crossing a line break has one character on one
  // side and two on the other (it is 8 or more), so one of the two runs around a break is its.
  const grams = new Set<number>();
  for (const t of targets)
    for (let i = 0; i + 3 <= t.length; i++)
      grams.add(gram(t.charCodeAt(i), t.charCodeAt(i + 1), t.charCodeAt(i + 2)));
  const findIn = plainFinder(targets, literalAlternation(targets, 'g'));
  const longest = targets[0]!.length;

  const find = (text: string, _atLineStart: boolean): Span[] => {
    const spans: Span[] = [];
    let next = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', Math.max(nl + 1, next))) {
      const before = text.charCodeAt(nl - 1) === CR ? nl - 2 : nl - 1;
      if (before < next || !isBase64(text, before)) continue;
      const after = afterIndent(text, nl + 1);
      if (!isBase64(text, after)) continue;
      const b1 = text.charCodeAt(before);
      const a1 = text.charCodeAt(after);
      const crosses =
        (isBase64(text, after + 1) && grams.has(gram(b1, a1, text.charCodeAt(after + 1)))) ||
        (isBase64(text, before - 1) && grams.has(gram(text.charCodeAt(before - 1), b1, a1)));
      if (!crosses) continue;
      let start = before;
      while (start > next && isBase64(text, start - 1)) start--;
      const { joined, rawAt, end } = joinFrom(text, start);
      next = end;
      for (let s = findIn(joined, 0); s !== undefined; ) {
        const [a, e] = s;
        // The first line break inside the match: the line before it must be a wrapped line.
        let j = a + 1;
        while (j < e && rawAt[j]! === rawAt[j - 1]! + 1) j++;
        if (j === e || !isWrappedLine(text, rawAt[j - 1]! + 1)) {
          // Within one line the masker's own pattern finds it; across ordinary lines it is not one.
          s = findIn(joined, a + 1);
          continue;
        }
        spans.push([rawAt[a]!, rawAt[e - 1]! + 1]);
        s = findIn(joined, e);
      }
    }
    return spans;
  };

  const holdFrom = (
    text: string,
    atLineStart: boolean,
    startIn: (joined: string) => number,
  ): number => Math.min(unfinishedLine(text, atLineStart), wrappedLineGoingOn(text, startIn));

  /**
   * The wrapped lines that end `text`, each followed by a break (the text's last, maybe): the
   * first whose end begins a target that the rest of the text begins to go on with.
   */
  const wrappedLineGoingOn = (text: string, startIn: (joined: string) => number): number => {
    const ends: number[] = [];
    // The last line, if it has only an indentation yet, or a break or CR ends the text: the line
    // before it is followed by a break.
    const labelOnly = lastLineLabelOnly(text);
    let lineEnd = labelOnly;
    if (text.charCodeAt(lineEnd - 1) === CR) lineEnd--;
    let followedByBreak = lineEnd < text.length;
    // Back over lines of base64 characters only, at most `longest` of those characters.
    for (let count = 0; count < longest; ) {
      let i = lineEnd;
      while (i > 0 && count < longest && isBase64(text, i - 1)) {
        i--;
        count++;
      }
      if (i === lineEnd) break;
      if (followedByBreak) ends.push(lineEnd);
      const lineStart = lineStartBefore(text, i, false);
      if (lineStart <= 0) break;
      lineEnd = text.charCodeAt(lineStart - 2) === CR ? lineStart - 2 : lineStart - 1;
      followedByBreak = true;
    }
    for (let k = ends.length - 1; k >= 0; k--) {
      const end = ends[k]!;
      if (!isWrappedLine(text, end)) continue;
      let begin = end;
      while (begin > 0 && isBase64(text, begin - 1)) begin--;
      // Not into the last line while it holds only a label so far (a line number's digits).
      const { joined, rawAt, end: joinEnd } = joinFrom(text, begin, labelOnly);
      // What follows the join cannot go on with a target: a break at the very end can (and
      // the next line's indentation and label so far).
      const after = text.charCodeAt(joinEnd) === CR ? joinEnd + 1 : joinEnd;
      if (after < text.length && after !== labelOnly) continue;
      const found = startIn(joined);
      if (found < joined.length && rawAt[found]! < end) {
        const lineStart = lineStartBefore(text, begin, true);
        return lineStart >= 0 ? lineStart : begin;
      }
    }
    return text.length;
  };

  const pieceAtEnd = (
    text: string,
    _atLineStart: boolean,
    startIn: (joined: string) => number,
  ): number =>
    // The first of the lines may hold other text before the form (wrappedLineGoingOn's lines).
    wrappedLineGoingOn(text, (joined) => {
      const found = startIn(joined);
      return joined.length - found >= MIN_JOINED ? found : joined.length;
    });

  const pieceAt = (text: string, edge: 'start' | 'end'): Span | undefined => {
    const run = edge === 'start' ? leadingLines(text, longest) : trailingLines(text, longest);
    if (run === undefined) return undefined;
    const { joined, rawAt } = run;
    let best = MIN_PIECE - 1;
    for (const t of targets)
      for (let k = Math.min(t.length - 1, joined.length); k > best; k--) {
        const matches =
          edge === 'start'
            ? isSameAt(t, t.length - k, joined, 0, k)
            : isSameAt(t, 0, joined, joined.length - k, k);
        if (matches) best = k;
      }
    if (best < MIN_PIECE) return undefined;
    return edge === 'start'
      ? [0, rawAt[best - 1]! + 1]
      : [rawAt[joined.length - best]!, rawAt[joined.length - 1]! + 1];
  };

  return { find, holdFrom, lineStartAround, pieceAtEnd, pieceAt, targets };
}

/** The shortest piece of a target masked at a cut edge (the masker's MIN_SECRET_PIECE). */
const MIN_PIECE = 4;

/** The base64 characters of a run of lines, joined, and the index in the text of each. */
interface JoinedLines {
  joined: string;
  rawAt: number[];
}

/**
 * The base64 characters of the lines that begin `text` (after an indentation), joined: the
 * first line (what a cut left of one) any length, each other one going on from a wrapped line;
 * the last may end in other characters (where a form ends inside it). Up to `longest`.
 */
function leadingLines(text: string, longest: number): JoinedLines | undefined {
  const lines: [number, number][] = [];
  let count = 0;
  for (let at = 0; count < longest; ) {
    const from = afterIndent(text, at);
    let end = from;
    while (isBase64(text, end)) end++;
    const n = end - from;
    if (lines.length > 0 && n === 0) break;
    lines.push([from, end]);
    count += n;
    const lf = text.charCodeAt(end) === CR ? end + 1 : end;
    // Other characters, or the end of the text, end the run; so does a line that is not wrapped.
    if (text.charCodeAt(lf) !== LF) break;
    if (lines.length > 1 && (n < WRAP_MIN || n > WRAP_MAX)) break;
    at = lf + 1;
  }
  return joinLines(text, lines);
}

/**
 * The base64 characters of the lines that end `text`, joined: the last one unfinished (any
 * length), or ended by a break (then a wrapped line, as the form may go on after it), the ones
 * before it wrapped lines. Up to `longest` characters back.
 */
function trailingLines(text: string, longest: number): JoinedLines | undefined {
  // A break, maybe followed by the indentation and label of the next line, ends the last line.
  // (A line number without its tab yet is read as the last line's characters: it may be them.)
  let lineEnd = lastLineLabelOnly(text, false);
  const ended = lineEnd < text.length;
  if (text.charCodeAt(lineEnd - 1) === CR) lineEnd--;
  const lines: [number, number][] = [];
  let count = 0;
  while (count < longest) {
    let i = lineEnd;
    while (i > 0 && isBase64(text, i - 1)) i--;
    const n = lineEnd - i;
    if (n === 0 || !beginsLine(text, i, true)) break;
    if ((lines.length > 0 || ended) && (n < WRAP_MIN || n > WRAP_MAX)) break;
    lines.unshift([i, lineEnd]);
    count += n;
    const lineStart = lineStartBefore(text, i, true);
    if (lineStart <= 0) break;
    lineEnd = text.charCodeAt(lineStart - 2) === CR ? lineStart - 2 : lineStart - 1;
  }
  return joinLines(text, lines);
}

function joinLines(text: string, lines: readonly [number, number][]): JoinedLines | undefined {
  const rawAt: number[] = [];
  let joined = '';
  for (const [from, end] of lines) {
    joined += text.slice(from, end);
    for (let i = from; i < end; i++) rawAt.push(i);
  }
  return joined.length >= MIN_PIECE ? { joined, rawAt } : undefined;
}

function lineStartAround(text: string, at: number, atLineStart: boolean): number {
  if (at >= text.length) return at;
  const lineStart = text.lastIndexOf('\n', at - 1) + 1;
  if (lineStart === at || (lineStart === 0 && !atLineStart)) return at;
  // Inside the line's indentation or label: the line may still be a wrapped line.
  if (isLabelSoFar(text, lineStart, at)) return lineStart;
  let i = afterIndent(text, lineStart);
  const from = i;
  while (i < at && i - from <= WRAP_MAX && isBase64(text, i)) i++;
  return i === at && at - from <= WRAP_MAX ? lineStart : at;
}

/**
 * The start of the unfinished last line of `text` while it may still become a wrapped line (an
 * indentation, then base64 characters, maybe a CR), else text.length: held whole, as whether
 * it is one depends on where it begins.
 */
function unfinishedLine(text: string, atLineStart: boolean): number {
  const lastBreak = text.lastIndexOf('\n');
  const lineStart = lastBreak + 1;
  if (lineStart === text.length || (lastBreak < 0 && !atLineStart)) return text.length;
  if (isLabelSoFar(text, lineStart, text.length)) return lineStart;
  let i = afterIndent(text, lineStart);
  const from = i;
  while (i < text.length && i - from <= WRAP_MAX && isBase64(text, i)) i++;
  if (i - from > WRAP_MAX) return text.length;
  const cr = i === text.length - 1 && text.charCodeAt(i) === CR ? 1 : 0;
  return i + cr === text.length ? lineStart : text.length;
}

/**
 * The run of base64 characters from `start`, going on over each line break (LF or CR LF) that
 * has base64 characters on both sides: those characters, the index in `text` of each, and where
 * the run ends.
 */
function joinFrom(
  text: string,
  start: number,
  limit = text.length,
): { joined: string; rawAt: number[]; end: number } {
  const rawAt: number[] = [];
  let joined = '';
  let at = start;
  for (;;) {
    const lineStart = at;
    while (at < limit && isBase64(text, at)) at++;
    joined += text.slice(lineStart, at);
    for (let i = lineStart; i < at; i++) rawAt.push(i);
    const lf = text.charCodeAt(at) === CR ? at + 1 : at;
    if (at === lineStart || lf >= limit || text.charCodeAt(lf) !== LF) break;
    const next = afterIndent(text, lf + 1);
    if (!isBase64(text, next)) break;
    at = next;
  }
  return { joined, rawAt, end: at };
}

/** a[aStart..aStart+length) === b[bStart..bStart+length), last unit first, without copying. */
function isSameAt(a: string, aStart: number, b: string, bStart: number, length: number): boolean {
  for (let j = length - 1; j >= 0; j--)
    if (a.charCodeAt(aStart + j) !== b.charCodeAt(bStart + j)) return false;
  return true;
}
