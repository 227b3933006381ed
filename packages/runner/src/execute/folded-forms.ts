import { literalAlternation } from './literal-alternation.js';
import { plainFinder } from './plain-finder.js';
import type { Span } from './wrapped-encodings.js';

/**
 * A secret holding spaces (a passphrase) in a YAML value folded over lines, as PyYAML's
 * `yaml.dump` writes a long string (past 80 columns): a plain or single-quoted value is broken
 * at a space, the space written as a line break and the indentation of the next line; a
 * double-quoted one ends the line with `\` and writes the space as `\ ` after the indentation,
 * or breaks it so right after an escape (`\t\`, `\x01\`), where the break stands for nothing.
 * The masker's targets holding a space or an escape are looked for in the text with each such
 * fold read back as what it stands for.
 *
 * Cost in ordinary output: at each line break followed by an indentation, a set lookup of the
 * characters on both sides; only where they stand around a space in a target is the text around
 * it read back and searched.
 */
export interface FoldedFormFinder {
  /** Where targets folded over lines stand in `text`, whole (breaks and indentation inside). */
  find(text: string): Span[];
  /**
   * Where the stream masker must hold back from (text.length: nowhere): the start of a target's
   * beginning that ends `text` with a fold in it, or with a fold begun (a break, an indentation
   * so far, a `\` of a double-quoted value) that the next text may go on with.
   */
  holdFrom(text: string, startIn: (readBack: string) => number): number;
  /** The targets it looks for. */
  targets: readonly string[];
}

/** The shortest target looked for over folds (the masker's MIN_ENCODED_FORM). */
const MIN_FOLDED = 8;
/** The longest indentation read as a fold's (a deeply nested YAML document). */
const MAX_INDENT = 64;

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const BACKSLASH = 0x5c;

function isIndent(unit: number): boolean {
  return unit === SPACE || unit === TAB;
}

/** Two code units as one key. */
function pair(a: number, b: number): number {
  return a * 0x10000 + b;
}

/**
 * `candidates`: the masker's plain targets; those holding a space or a `\` (an escaped form),
 * 8 or more, are looked for.
 */
export function foldedFormFinder(candidates: readonly string[]): FoldedFormFinder | undefined {
  const targets = [
    ...new Set(
      candidates.filter((t) => t.length >= MIN_FOLDED && (t.includes(' ') || t.includes('\\'))),
    ),
  ].sort((a, b) => b.length - a.length);
  if (targets.length === 0) return undefined;
  // The characters on both sides of each space of each target: a fold stands between them.
  const around = new Set<number>();
  /** The two characters before each space: a fold that the text ends inside follows them. */
  const endsBeforeSpace = new Set<number>();
  for (const t of targets)
    for (let i = t.indexOf(' '); i >= 0; i = t.indexOf(' ', i + 1)) {
      if (i > 0 && i < t.length - 1) around.add(pair(t.charCodeAt(i - 1), t.charCodeAt(i + 1)));
      // A space that begins the target, or follows its first character, follows what a -1 is.
      endsBeforeSpace.add(pair(i > 1 ? t.charCodeAt(i - 2) : -1, i > 0 ? t.charCodeAt(i - 1) : -1));
    }
  // The same around the end of each escape inside a target, where a double-quoted value may be
  // broken with nothing written for the break.
  for (const t of targets)
    for (const end of escapeEnds(t)) {
      around.add(pair(t.charCodeAt(end - 1), t.charCodeAt(end)));
      endsBeforeSpace.add(pair(t.charCodeAt(end - 2), t.charCodeAt(end - 1)));
    }
  const findIn = plainFinder(targets, literalAlternation(targets, 'g'));
  const longest = targets[0]!.length;
  // A folded target spans at most its length plus, at each space, a break, an indentation and
  // the escapes of a double-quoted value.
  const reach = longest * (MAX_INDENT + 4);

  const find = (text: string): Span[] => {
    const spans: Span[] = [];
    let searched = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', nl + 1)) {
      const fold = foldAt(text, nl);
      if (fold === undefined || nl < searched) continue;
      if (!around.has(pair(fold.before, fold.after))) continue;
      // Read back the lines around this fold, from a line start, and search them.
      const from = lineStartBefore(text, Math.max(0, nl - reach));
      const to = lineEndAfter(text, Math.min(text.length, nl + reach));
      const { readBack, rawAt, folded, joined } = readFolds(text, from, to, false);
      for (let s = findIn(readBack, 0); s !== undefined; s = findIn(readBack, s[1])) {
        const [a, e] = s;
        // Within one line the masker's own pattern finds it.
        if (!hasFoldIn(folded, a, e) && !joined.some((j) => j > a && j < e)) continue;
        const span: Span = [rawAt[a]!, rawAt[e - 1]! + 1];
        if (spans.length > 0 && span[0] < spans[spans.length - 1]![1]) continue;
        spans.push(span);
      }
      searched = to;
    }
    return spans;
  };

  /** Whether the text ends in a fold, or after one, that may be inside a target. */
  const mayGoOnFolded = (text: string): boolean => {
    const n = text.length;
    // A double-quoted value's line ending in `\`: its break is to come.
    const beforeEscape = text.charCodeAt(n - 2);
    // Or an escape begun: a fold before it is read as below.
    if (
      text.charCodeAt(n - 1) === BACKSLASH &&
      beforeEscape !== LF &&
      !isIndent(beforeEscape) &&
      n >= 2 &&
      endsBeforeSpace.has(pair(n >= 3 ? text.charCodeAt(n - 3) : -1, text.charCodeAt(n - 2)))
    )
      return true;
    const lastBreak = text.lastIndexOf('\n');
    const fold = lastBreak < 0 ? undefined : foldAt(text, lastBreak);
    if (fold === undefined) return false;
    return fold.after < 0
      ? endsBeforeSpace.has(pair(fold.beforeLast, fold.before))
      : around.has(pair(fold.before, fold.after));
  };

  const holdFrom = (text: string, startIn: (readBack: string) => number): number => {
    // A beginning that ends the text crosses its last line break if any fold: only then, and
    // where the characters around that break stand around a space in a target, is it read back.
    if (!mayGoOnFolded(text)) return text.length;
    const from = lineStartBefore(text, Math.max(0, text.length - reach));
    const { readBack, rawAt } = readFolds(text, from, text.length, true);
    const found = startIn(readBack);
    return found < readBack.length ? rawAt[found]! : text.length;
  };

  return { find, holdFrom, targets };
}

/**
 * The fold whose line break is at `nl`: the character before it (before a double-quoted
 * value's `\`) and the first after the indentation (after its `\ `), -1 if the text ends first;
 * undefined if this break is no fold (no indentation after it, or nothing before it).
 */
function foldAt(
  text: string,
  nl: number,
): { beforeLast: number; before: number; after: number } | undefined {
  let b = text.charCodeAt(nl - 1) === CR ? nl - 2 : nl - 1;
  if (text.charCodeAt(b) === BACKSLASH) b--;
  if (b < 0) return undefined;
  const before = text.charCodeAt(b);
  if (before === LF || isIndent(before)) return undefined;
  const beforeLast = b > 0 && text.charCodeAt(b - 1) !== LF ? text.charCodeAt(b - 1) : -1;
  let a = nl + 1;
  while (a < text.length && a - nl <= MAX_INDENT && isIndent(text.charCodeAt(a))) a++;
  // The text ends in the fold (its indentation so far, or its `\`): what follows is to come.
  const endsIn = (at: number) =>
    at >= text.length || (text.charCodeAt(at) === BACKSLASH && at + 1 === text.length);
  if (endsIn(a)) return { beforeLast, before, after: -1 };
  if (a === nl + 1) return undefined;
  if (text.charCodeAt(a) === BACKSLASH && text.charCodeAt(a + 1) === SPACE) a += 2;
  return { beforeLast, before, after: a < text.length ? text.charCodeAt(a) : -1 };
}

function lineStartBefore(text: string, at: number): number {
  return at === 0 ? 0 : text.lastIndexOf('\n', at - 1) + 1;
}

function lineEndAfter(text: string, at: number): number {
  const nl = text.indexOf('\n', at);
  return nl < 0 ? text.length : nl;
}

/**
 * Where escapes in `t` end (the index after each), when something follows: `\t`, `\x01`,
 * `\u00e9`, `\U0001F600` as YAML writes them, the places PyYAML may break a double-quoted value.
 */
function escapeEnds(t: string): number[] {
  const ends: number[] = [];
  for (let i = t.indexOf('\\'); i >= 0 && i < t.length - 1; i = t.indexOf('\\', i)) {
    const kind = t[i + 1]!;
    const end = i + 2 + (kind === 'x' ? 2 : kind === 'u' ? 4 : kind === 'U' ? 8 : 0);
    if (end < t.length) ends.push(end);
    i = end;
  }
  return ends;
}

/** Whether a fold's space lies in readBack[a, e). */
function hasFoldIn(folded: readonly number[], a: number, e: number): boolean {
  for (const f of folded) if (f >= a && f < e) return true;
  return false;
}

/**
 * text[from, to) with each fold read as the space it stands for: a break (LF or CR LF) and
 * the indentation after it, and for a double-quoted value the `\` before it and `\ ` after it.
 * `rawAt`: each character's index in `text` (a fold's space: its break's); `folded`: where the
 * spaces of folds stand. `atEnd`: a fold begun at `to` (a break, an indentation so far, a `\`)
 * is read as its space too, as the text may go on with it.
 */
function readFolds(
  text: string,
  from: number,
  to: number,
  atEnd: boolean,
): { readBack: string; rawAt: number[]; folded: number[]; joined: number[] } {
  let readBack = '';
  const rawAt: number[] = [];
  const folded: number[] = [];
  /** Where a double-quoted value's break after an escape stood (read as nothing). */
  const joined: number[] = [];
  let at = from;
  while (at < to) {
    let nl = text.indexOf('\n', at);
    if (nl < 0 || nl >= to) nl = to;
    let lineEnd = nl > at && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
    if (nl === to && !atEnd) {
      readBack += text.slice(at, to);
      for (let i = at; i < to; i++) rawAt.push(i);
      break;
    }
    const escaped = lineEnd > at && text.charCodeAt(lineEnd - 1) === BACKSLASH;
    if (escaped) lineEnd--;
    readBack += text.slice(at, lineEnd);
    for (let i = at; i < lineEnd; i++) rawAt.push(i);
    if (nl === to) {
      // The text ends with the line (atEnd): its `\` is a break to come, that may stand for a
      // space or for nothing: read as nothing, a target's beginning going on either way is found.
      if (escaped) joined.push(readBack.length);
      break;
    }
    let next = nl + 1;
    while (next < to && next - nl <= MAX_INDENT && isIndent(text.charCodeAt(next))) next++;
    const indented = next > nl + 1;
    const endsText = next === to && atEnd;
    if (!indented && !endsText) {
      // A break and no indentation: no fold, the break stays.
      readBack += text.slice(lineEnd, nl + 1);
      for (let i = lineEnd; i <= nl; i++) rawAt.push(i);
      at = nl + 1;
      continue;
    }
    if (escaped && !(text.charCodeAt(next) === BACKSLASH && text.charCodeAt(next + 1) === SPACE)) {
      // A double-quoted value broken after an escape: the break stands for nothing. Where the
      // text ends after the indentation or a `\` (of `\ ` or of an escape), as at its `\` above.
      joined.push(readBack.length);
      at = endsText || (next + 1 === to && atEnd) ? to : next;
      continue;
    }
    // `\ `: the space escaped after a double-quoted value's break.
    if (escaped) next += 2;
    folded.push(readBack.length);
    readBack += ' ';
    rawAt.push(nl);
    at = next;
  }
  return { readBack, rawAt, folded, joined };
}
