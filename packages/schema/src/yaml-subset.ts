/*
 * The first and fastest reading of a YAML file: a reader for the plain subset of YAML that
 * runbooks are written in — block mappings and sequences, one-line plain and quoted scalars,
 * one-line flow collections, literal and folded block scalars — in one pass over the lines, with
 * no syntax tree and no recursion deeper than MAX_SUBSET_DEPTH. For every text it accepts it gives
 * exactly the value of the strict parser (yaml-subset.test.ts compares them on the repository's
 * runbooks and on generated texts). It declines everything else: whatever the strict rules could
 * refuse (anchors, aliases, tags, `<<`, duplicate keys, more than one document, deep nesting) and
 * every construct it does not read itself (multi-line plain or quoted scalars, explicit keys,
 * quoted keys, tabs, carriage returns, keep chomping, …). The caller then reads the text the
 * slower ways (fast-yaml.ts, then the strict parser), so declining is always safe.
 */

import { hasControl } from './control-characters.js';
import { doubleQuotedEscapes, resolvePlainScalar } from './yaml-core-scalar.js';
import type { PathSegment } from './yaml-source.js';

/**
 * Deepest nesting read here; a deeper text is declined. Half the strict limit (64), so that an
 * accepted text is never one that the depth rule refuses.
 */
export const MAX_SUBSET_DEPTH = 32;

/** Thrown (not an Error: no stack to capture) when the text leaves the subset. */
const DECLINE = Symbol('decline');

// Anything the reader leaves to the other parsers: tabs, CR, control characters, NEL, LS, PS,
// a byte order mark inside the text, the non-characters U+FFFE and U+FFFF.
const unreadable = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/;
// A plain key: what `key:` needs no quotes for, and never a flow or block indicator.
const plainKey = /[A-Za-z0-9_][A-Za-z0-9_./-]*/y;
const hexDigits = /^[0-9a-fA-F]+$/;

const SPACE = 0x20;
const HASH = 0x23;
const DASH = 0x2d;
const COLON = 0x3a;
const QUESTION = 0x3f;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const BACKSLASH = 0x5c;
const OPEN_SEQ = 0x5b;
const CLOSE_SEQ = 0x5d;
const OPEN_MAP = 0x7b;
const CLOSE_MAP = 0x7d;
const COMMA = 0x2c;
const PIPE = 0x7c;
const GT = 0x3e;

/** Characters no plain scalar may start with (each is an indicator, or reserved). */
const indicators = new Set([...'#&*!|>\'"%@`,[]{}'].map((c) => c.charCodeAt(0)));

/** A string of the value that holds a control character, and where it is. */
export interface ControlString {
  path: PathSegment[];
  text: string;
}

export type SubsetResult =
  | {
      ok: true;
      value: Record<string, unknown>;
      /**
       * Every string of `value` that holds a control character, in the order of the text: only
       * block scalars (line feeds) and double-quoted escapes can, and no key can (plain only).
       */
      controlStrings: ControlString[];
    }
  | { ok: false };

/** Read `text` if it is a mapping written in the plain subset; `{ok: false}` otherwise. */
export function readYamlSubset(text: string): SubsetResult {
  // A line that starts or ends a document (`---`, `...`) or holds a directive (`%`) needs no
  // test of its own: at the first column, where these are markers, the reader takes nothing but
  // a key (a line inside a block scalar is indented), and none of them starts one.
  if (unreadable.test(text)) return { ok: false };
  try {
    const reader = new SubsetReader(text);
    return { ok: true, value: reader.document(), controlStrings: reader.controlStrings };
  } catch (e) {
    if (e === DECLINE) return { ok: false };
    throw e;
  }
}

/**
 * The reader walks the text line by line. Its position is always the start of a line that holds
 * something (blank and comment lines are skipped), with that line's end and indentation at hand.
 */
class SubsetReader {
  /** Start of the current line. */
  private pos = 0;
  /** End of the current line: its line feed, or the end of the text. */
  private eol = 0;
  /** Spaces before the current line's content; -1 past the last line. */
  private indent = -1;
  /** Where the scalar or flow collection read last ends. */
  private at = 0;
  /** The last offsets nextComment and nextPairColon found. */
  private commentAt = -1;
  private pairColonAt = -1;
  /** Where the value being read is: one array, grown and shrunk as the reading goes. */
  private readonly path: PathSegment[] = [];
  readonly controlStrings: ControlString[] = [];

  constructor(private readonly text: string) {}

  document(): Record<string, unknown> {
    this.skipBlankLines();
    // Empty, indented at the root, or a sequence: left to the other parsers.
    if (this.indent !== 0 || this.isSeqItem(this.pos)) throw DECLINE;
    // The root mapping ends only past the last line: no line is indented less than it.
    return this.mapping(0, this.pos, 1);
  }

  /** Moves to the next line, from `this.pos` on, that holds more than spaces and a comment. */
  private skipBlankLines(): void {
    const { text } = this;
    const n = text.length;
    let pos = this.pos;
    while (pos < n) {
      let eol = text.indexOf('\n', pos);
      if (eol < 0) eol = n;
      const i = spacesEnd(text, pos);
      if (i < eol && text.charCodeAt(i) !== HASH) {
        this.pos = pos;
        this.eol = eol;
        this.indent = i - pos;
        return;
      }
      pos = eol + 1;
    }
    this.pos = n;
    this.eol = n;
    this.indent = -1;
  }

  private nextLine(): void {
    this.pos = this.eol + 1;
    this.skipBlankLines();
  }

  /** `- ` (or a lone `-`) at offset `i` of the current line. */
  private isSeqItem(i: number): boolean {
    return (
      this.text.charCodeAt(i) === DASH &&
      (i + 1 === this.eol || this.text.charCodeAt(i + 1) === SPACE)
    );
  }

  /** Offset of the `:` that ends a plain key at `i` (followed by a space or the line end); -1 if none. */
  private keyColon(i: number): number {
    plainKey.lastIndex = i;
    if (!plainKey.test(this.text)) return -1;
    const colon = plainKey.lastIndex;
    if (colon >= this.eol || this.text.charCodeAt(colon) !== COLON) return -1;
    if (colon + 1 < this.eol && this.text.charCodeAt(colon + 1) !== SPACE) return -1;
    return colon;
  }

  /**
   * Adds `key` to `map`; a key the strict parser would read otherwise declines. A key given twice
   * is caught once the mapping is read (withoutDuplicates): one count instead of a lookup a key.
   */
  private setKey(map: Record<string, unknown>, key: string, value: unknown): void {
    if (key.length > 1000 || key === '__proto__' || typeof resolvePlainScalar(key) !== 'string')
      throw DECLINE;
    map[key] = value;
  }

  private skipSpaces(i: number): number {
    return spacesEnd(this.text, i);
  }

  /** A block mapping whose entries start at column `indent`; the first key is at offset `keyAt`. */
  private mapping(indent: number, keyAt: number, depth: number): Record<string, unknown> {
    if (depth > MAX_SUBSET_DEPTH) throw DECLINE;
    const map: Record<string, unknown> = {};
    for (let entries = 1; ; entries++) {
      const colon = this.keyColon(keyAt);
      if (colon < 0) throw DECLINE;
      const key = this.text.slice(keyAt, colon);
      this.path.push(key);
      this.setKey(map, key, this.valueAfter(colon + 1, indent, depth, true));
      this.path.pop();
      if (this.indent < indent) return withoutDuplicates(map, entries);
      if (this.indent > indent) throw DECLINE;
      keyAt = this.pos + indent;
    }
  }

  /** A block sequence whose `-` are at column `indent`. */
  private sequence(indent: number, depth: number): unknown[] {
    if (depth > MAX_SUBSET_DEPTH) throw DECLINE;
    const items: unknown[] = [];
    for (;;) {
      const dash = this.pos + indent;
      const p = this.skipSpaces(dash + 1);
      if (p < this.eol && this.isSeqItem(p)) throw DECLINE; // `- - x`: left to the others
      this.path.push(items.length);
      if (p < this.eol && this.keyColon(p) >= 0) {
        // `- key: value`: a mapping whose entries start at the key's column.
        items.push(this.mapping(p - this.pos, p, depth + 1));
      } else {
        items.push(this.valueAfter(dash + 1, indent, depth, false));
      }
      this.path.pop();
      if (this.indent < indent) return items;
      if (this.indent > indent) throw DECLINE;
      // A key at the sequence's column ends it: valid only when the sequence is that mapping's
      // value, which the mapping checks.
      if (!this.isSeqItem(this.pos + indent)) return items;
    }
  }

  /**
   * The value of a mapping entry or sequence item whose indicator ends just before `p`, in a
   * collection at column `indent`. Leaves the reader on the next line that holds something.
   */
  private valueAfter(p: number, indent: number, depth: number, inMapping: boolean): unknown {
    const i = this.skipSpaces(p);
    if (i < this.eol && this.text.charCodeAt(i) !== HASH) return this.inline(i, indent, depth);
    // Nothing more on the line: a collection on the next lines, or null.
    this.nextLine();
    if (this.indent > indent) {
      const at = this.pos + this.indent;
      return this.isSeqItem(at)
        ? this.sequence(this.indent, depth + 1)
        : this.mapping(this.indent, at, depth + 1);
    }
    // `key:` followed by `- item` lines at the key's own column.
    if (inMapping && this.indent === indent && this.isSeqItem(this.pos + indent))
      return this.sequence(indent, depth + 1);
    return null;
  }

  /** A value that starts at `i` on the current line, in a collection at column `indent`. */
  private inline(i: number, indent: number, depth: number): unknown {
    const c = this.text.charCodeAt(i);
    let value: unknown;
    if (c === DQUOTE) value = this.doubleQuoted(i);
    else if (c === SQUOTE) value = this.singleQuoted(i);
    else if (c === OPEN_SEQ || c === OPEN_MAP) value = this.flow(i, depth + 1);
    else if (c === PIPE || c === GT) return this.blockScalar(i, indent);
    else {
      // plain() ends the scalar at the line's end or at ` #`, less the spaces before: only those
      // spaces and the comment follow it, which endOfLine would accept (a call per line saved).
      value = this.plain(i);
      this.nextLine();
      return value;
    }
    this.endOfLine(this.at);
    this.nextLine();
    return value;
  }

  /** After a value, only spaces and a comment may follow on its line. */
  private endOfLine(i: number): void {
    const j = this.skipSpaces(i);
    if (j < this.eol && !(j > i && this.text.charCodeAt(j) === HASH)) throw DECLINE;
  }

  /** A one-line plain scalar in a block collection. */
  private plain(i: number): unknown {
    const { text, eol } = this;
    const c = text.charCodeAt(i);
    if (indicators.has(c)) throw DECLINE;
    if ((c === DASH || c === QUESTION || c === COLON) && (i + 1 === eol || isSpace(text, i + 1)))
      throw DECLINE;
    const comment = this.nextComment(i);
    let end = Math.min(comment, eol);
    while (text.charCodeAt(end - 1) === SPACE) end--;
    // `a: b: c` or `a: b:` would be a mapping where a scalar stands.
    if (this.nextPairColon(i) < end || text.charCodeAt(end - 1) === COLON) throw DECLINE;
    this.at = end;
    return resolvePlainScalar(text.slice(i, end));
  }

  /**
   * Offset of the first ` #` at or after `i` (the text's length when there is none). Plain
   * scalars are read at increasing offsets, so one search serves every line up to the match:
   * no search runs to the end of the text for each line.
   */
  private nextComment(i: number): number {
    if (this.commentAt < i) {
      const k = this.text.indexOf(' #', i);
      this.commentAt = k < 0 ? this.text.length : k;
    }
    return this.commentAt;
  }

  /** Offset of the first `: ` at or after `i`, found as nextComment finds ` #`. */
  private nextPairColon(i: number): number {
    if (this.pairColonAt < i) {
      const k = this.text.indexOf(': ', i);
      this.pairColonAt = k < 0 ? this.text.length : k;
    }
    return this.pairColonAt;
  }

  /** A double-quoted scalar that closes on its line. */
  private doubleQuoted(i: number): string {
    const { text, eol } = this;
    let out = '';
    let from = i + 1;
    for (let j = from; ; ) {
      if (j >= eol) throw DECLINE;
      const ch = text.charCodeAt(j);
      if (ch === DQUOTE) {
        this.at = j + 1;
        // An escape is the only way a control character gets into a one-line scalar.
        return from === i + 1 ? text.slice(from, j) : this.noted(out + text.slice(from, j));
      }
      if (ch !== BACKSLASH) {
        j++;
        continue;
      }
      out += text.slice(from, j);
      const e = text[j + 1];
      if (j + 1 >= eol || e === undefined) throw DECLINE;
      const fixed = doubleQuotedEscapes.get(e);
      if (fixed !== undefined) {
        out += fixed;
        j += 2;
      } else if (e === 'x' || e === 'u' || e === 'U') {
        const length = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = text.slice(j + 2, j + 2 + length);
        if (j + 2 + length > eol || !hexDigits.test(hex)) throw DECLINE;
        const code = Number.parseInt(hex, 16);
        if (code > 0x10ffff) throw DECLINE;
        out += String.fromCodePoint(code);
        j += 2 + length;
      } else throw DECLINE;
      from = j;
    }
  }

  /** A single-quoted scalar that closes on its line (`''` is one quote). */
  private singleQuoted(i: number): string {
    const { text, eol } = this;
    let out = '';
    let from = i + 1;
    for (;;) {
      const q = text.indexOf("'", from);
      if (q < 0 || q >= eol) throw DECLINE;
      if (q + 1 < eol && text.charCodeAt(q + 1) === SQUOTE) {
        out += text.slice(from, q + 1);
        from = q + 2;
        continue;
      }
      this.at = q + 1;
      return out + text.slice(from, q);
    }
  }

  /** `[…]` or `{…}`, closed on its line; plain keys only, no empty entries. */
  private flow(i: number, depth: number): unknown {
    if (depth > MAX_SUBSET_DEPTH) throw DECLINE;
    const { text, eol } = this;
    const isSeq = text.charCodeAt(i) === OPEN_SEQ;
    const close = isSeq ? CLOSE_SEQ : CLOSE_MAP;
    const items: unknown[] = [];
    const map: Record<string, unknown> = {};
    let j = this.skipSpaces(i + 1);
    if (j < eol && text.charCodeAt(j) === close) {
      this.at = j + 1;
      return isSeq ? items : map;
    }
    for (let entries = 1; ; entries++) {
      if (isSeq) {
        this.path.push(items.length);
        items.push(this.flowValue(j, depth));
      } else {
        const colon = this.keyColon(j);
        // `{a:b}` is one plain scalar in YAML, and `{a: }` a null: both left to the others.
        if (colon < 0 || colon + 1 >= eol) throw DECLINE;
        const key = text.slice(j, colon);
        this.path.push(key);
        this.setKey(map, key, this.flowValue(this.skipSpaces(colon + 1), depth));
      }
      this.path.pop();
      j = this.skipSpaces(this.at);
      const ch = j < eol ? text.charCodeAt(j) : -1;
      if (ch === close) {
        this.at = j + 1;
        return isSeq ? items : withoutDuplicates(map, entries);
      }
      if (ch !== COMMA) throw DECLINE;
      j = this.skipSpaces(j + 1);
      // A trailing comma, an empty entry, or a collection that goes on to the next line.
      if (j >= eol || text.charCodeAt(j) === close || text.charCodeAt(j) === COMMA) throw DECLINE;
    }
  }

  /** An entry of a flow collection, starting at `j`. */
  private flowValue(j: number, depth: number): unknown {
    const { text, eol } = this;
    if (j >= eol) throw DECLINE;
    const c = text.charCodeAt(j);
    if (c === DQUOTE) return this.doubleQuoted(j);
    if (c === SQUOTE) return this.singleQuoted(j);
    if (c === OPEN_SEQ || c === OPEN_MAP) return this.flow(j, depth + 1);
    if (indicators.has(c) || c === DASH || c === QUESTION || c === COLON) throw DECLINE;
    let end = j + 1;
    for (; end < eol; end++) {
      const ch = text.charCodeAt(end);
      if (ch === COMMA || ch === CLOSE_SEQ || ch === CLOSE_MAP) break;
      // A colon makes a pair, brackets and ` #` end the line's reading: all left to the others.
      if (ch === COLON || ch === OPEN_SEQ || ch === OPEN_MAP) throw DECLINE;
      if (ch === HASH && text.charCodeAt(end - 1) === SPACE) throw DECLINE;
    }
    while (text.charCodeAt(end - 1) === SPACE) end--;
    this.at = end;
    return resolvePlainScalar(text.slice(j, end));
  }

  /**
   * `|`, `|-`, `>` or `>-` at `i`, and the lines that hold its text, in a collection at column
   * `indent`. The text's indentation is its first line's; it ends at the first line that holds
   * something and is indented less. Declined: keep chomping (`+`), an indentation indicator, an
   * empty text, blank lines holding more spaces than the indentation, and more-indented lines of
   * a folded scalar: the cases where the strict parser's rules are subtle.
   */
  private blockScalar(i: number, indent: number): string {
    const { text } = this;
    const n = text.length;
    const folded = text.charCodeAt(i) === GT;
    let h = i + 1;
    const strip = h < this.eol && text.charCodeAt(h) === DASH;
    if (strip) h++;
    this.endOfLine(h);
    let pos = this.eol + 1;
    let textIndent = -1;
    let leadingBlank = 0;
    let leadingSpaces = 0;
    let blank = 0;
    let value = '';
    while (pos < n) {
      let eol = text.indexOf('\n', pos);
      if (eol < 0) eol = n;
      const s = spacesEnd(text, pos);
      const spaces = s - pos;
      if (s === eol) {
        // A line of spaces only.
        if (textIndent < 0) {
          leadingBlank++;
          leadingSpaces = Math.max(leadingSpaces, spaces);
        } else if (spaces > textIndent) throw DECLINE;
        else blank++;
        pos = eol + 1;
        continue;
      }
      if (textIndent < 0) {
        if (spaces <= indent || leadingSpaces > spaces) throw DECLINE;
        textIndent = spaces;
        value = '\n'.repeat(leadingBlank) + text.slice(pos + textIndent, eol);
      } else if (spaces < textIndent) break;
      else if (folded && spaces > textIndent) throw DECLINE;
      else {
        const sep = folded ? (blank ? '\n'.repeat(blank) : ' ') : '\n'.repeat(blank + 1);
        value += sep + text.slice(pos + textIndent, eol);
      }
      blank = 0;
      pos = eol + 1;
    }
    if (textIndent < 0) throw DECLINE;
    this.pos = pos;
    this.skipBlankLines();
    return this.noted(strip ? value : `${value}\n`);
  }

  /** `text`, noted with its path in controlStrings when it holds a control character. */
  private noted(text: string): string {
    if (hasControl(text)) this.controlStrings.push({ path: this.path.slice(), text });
    return text;
  }
}

/** `map` when it holds `entries` keys: a key given twice, which the later value replaced, declines. */
function withoutDuplicates(map: Record<string, unknown>, entries: number): Record<string, unknown> {
  if (Object.keys(map).length !== entries) throw DECLINE;
  return map;
}

const spaces = / */y;

/**
 * Offset of the first character at or after `i` that is not a space (a line feed stops the run).
 * A regular expression: it scans natively, where a loop runs a few bytecodes a character in code
 * that V8 has not optimised yet (a reader runs cold).
 */
function spacesEnd(text: string, i: number): number {
  spaces.lastIndex = i;
  spaces.test(text);
  return spaces.lastIndex;
}

function isSpace(text: string, i: number): boolean {
  return text.charCodeAt(i) === SPACE;
}
