/*
 * The nesting depth of a YAML (or JSON) text, found in one pass without parsing. Both parsers
 * recurse once per level, so a file 100,000 levels deep overflows the stack before any depth
 * rule on the parsed tree could run; this scan runs first and stops at the first collection
 * deeper than the limit. It follows what makes a collection (flow brackets, `- `, `? `, keys,
 * indentation) and what does not (quoted strings, comments, block scalars, continuation lines
 * of a plain string), and counts exactly for valid YAML, so that the problem is where depth 65
 * starts. Broken YAML can be read otherwise by a parser's error recovery (or js-yaml's leniency)
 * than by this scan; `nestingBound` and the strict loader's measure of its syntax tree cover
 * those readings (yaml-source.ts, fast-yaml.ts).
 */

const SPACE = 0x20;
const TAB = 0x09;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const HASH = 0x23;
const COLON = 0x3a;
const COMMA = 0x2c;
const DASH = 0x2d;
const QUESTION = 0x3f;
const AMP = 0x26;
const BANG = 0x21;
const BACKSLASH = 0x5c;
const OPEN_SEQ = 0x5b;
const CLOSE_SEQ = 0x5d;
const OPEN_MAP = 0x7b;
const CLOSE_MAP = 0x7d;
const PIPE = 0x7c;
const GT = 0x3e;
const PERCENT = 0x25;

const isBreakOrSpace = (c: number) => c === SPACE || c === TAB || c === 0x0a || c === 0x0d;

const isFlowIndicator = (c: number) =>
  c === OPEN_SEQ || c === CLOSE_SEQ || c === OPEN_MAP || c === CLOSE_MAP || c === COMMA;

/**
 * Offset in `text` where the first collection deeper than `maxDepth` starts (the root
 * collection is depth 1), or undefined when the text nests no deeper than that.
 */
export function findTooDeep(text: string, maxDepth: number): number | undefined {
  return new DepthScan(text, maxDepth).run();
}

interface BlockLevel {
  /** Column of the collection's entries (0-based). */
  indent: number;
  isSeq: boolean;
}

class DepthScan {
  private found: number | undefined;
  private readonly blocks: BlockLevel[] = [];
  /**
   * Open flow collections, innermost last: is it a sequence, and has its current entry become a
   * `key: value` pair (a mapping of its own)?
   */
  private readonly flowIsSeq: boolean[] = [];
  private readonly flowPair: boolean[] = [];
  private pairs = 0;
  /** The quote character of a quoted string that is still open, 0 when none. */
  private quote = 0;
  /** Inside flow: the next character starts a token (a quote there opens a string). */
  private tokenStart = false;
  /** Inside flow: the last token was quoted or a collection, after which `:` needs no space. */
  private afterJsonLike = false;
  /** Indent of the collection that owns a block scalar whose lines are being skipped. */
  private blockScalarOwner: number | undefined;
  /** The last block line ended in a plain string: deeper lines continue it. */
  private afterPlain = false;
  private lineStart = 0;

  constructor(
    private readonly text: string,
    private readonly max: number,
  ) {}

  run(): number | undefined {
    const { text } = this;
    const n = text.length;
    for (let i = 0; i <= n && this.found === undefined; ) {
      let nl = text.indexOf('\n', i);
      if (nl < 0) nl = n;
      let end = nl;
      if (end > i && text.charCodeAt(end - 1) === 0x0d) end--;
      this.lineStart = i;
      if (this.quote || this.flowIsSeq.length) {
        const next = this.inline(i, end);
        if (next >= 0) this.node(next, end);
      } else this.blockLine(i, end);
      i = nl + 1;
    }
    return this.found;
  }

  private depth(): number {
    return this.blocks.length + this.flowIsSeq.length + this.pairs;
  }

  private isSep(i: number, end: number): boolean {
    if (i >= end) return true;
    const c = this.text.charCodeAt(i);
    return c === SPACE || c === TAB;
  }

  private skipSpace(i: number, end: number): number {
    while (i < end && this.isSep(i, end)) i++;
    return i;
  }

  private isCommentOrEnd(i: number, end: number): boolean {
    return i >= end || this.text.charCodeAt(i) === HASH;
  }

  private blockLine(start: number, end: number): void {
    const { text } = this;
    let p = start;
    while (p < end && text.charCodeAt(p) === SPACE) p++;
    const indent = p - start;
    const content = this.skipSpace(p, end);
    if (indent === 0 && this.isDocumentMarker(start, end)) {
      this.blocks.length = 0;
      this.blockScalarOwner = undefined;
      this.afterPlain = false;
      const rest = this.skipSpace(start + 3, end);
      if (!this.isCommentOrEnd(rest, end)) this.node(rest, end);
      return;
    }
    if (this.blockScalarOwner !== undefined) {
      // Empty lines and deeper ones are the scalar's; anything else, a comment too, ends it.
      if (content >= end || indent > this.blockScalarOwner) return;
      this.blockScalarOwner = undefined;
    }
    if (this.isCommentOrEnd(content, end)) return;
    if (this.afterPlain && indent > (this.blocks.at(-1)?.indent ?? -1)) return;
    this.afterPlain = false;
    if (indent === 0 && text.charCodeAt(p) === PERCENT) return; // a directive
    while (this.blocks.length && this.blocks.at(-1)!.indent > indent) this.blocks.pop();
    this.node(content, end);
  }

  private isDocumentMarker(start: number, end: number): boolean {
    const head = this.text.slice(start, start + 3);
    return (head === '---' || head === '...') && this.isSep(start + 3, end);
  }

  /** The block node at `p` and whatever nests inside it on the same line. */
  private node(p: number, end: number): void {
    const { text } = this;
    while (p < end && this.found === undefined) {
      const c = text.charCodeAt(p);
      const col = p - this.lineStart;
      if ((c === DASH || c === QUESTION || c === COLON) && this.isSep(p + 1, end)) {
        if (!this.enter(col, c === DASH, p)) return;
        p = this.skipSpace(p + 1, end);
      } else if (c === AMP || c === BANG) {
        while (p < end && !this.isSep(p, end) && !isFlowIndicator(text.charCodeAt(p))) p++;
        p = this.skipSpace(p, end);
      } else if (isFlowIndicator(c)) {
        // A stray `]`, `}` or `,` cannot start a plain string: parsers read on in flow mode.
        const start = p;
        const next = this.inline(p, end);
        if (next < 0) return; // the line ended inside it, or it is too deep
        p = this.skipSpace(next, end);
        if (this.isCommentOrEnd(p, end)) return;
        // A flow collection followed by `:` is the key of a block mapping.
        if (text.charCodeAt(p) === COLON) {
          if (!this.enter(col, false, start)) return;
          p = this.skipSpace(p + 1, end);
        }
      } else if (c === DQUOTE || c === SQUOTE) {
        const start = p;
        const close = this.closingQuote(p, end);
        if (close < 0) {
          // A string that goes on over the next lines.
          this.quote = c;
          this.inline(p + 1, end);
          return;
        }
        p = this.skipSpace(close + 1, end);
        if (this.isCommentOrEnd(p, end)) return;
        if (text.charCodeAt(p) === COLON) {
          if (!this.enter(col, false, start)) return;
          p = this.skipSpace(p + 1, end);
        }
      } else if (c === PIPE || c === GT) {
        this.blockScalarOwner = this.blocks.at(-1)?.indent ?? -1;
        return;
      } else {
        const colon = this.keyColon(p, end);
        if (colon < 0) {
          this.afterPlain = true;
          return;
        }
        if (!this.enter(col, false, p)) return;
        p = this.skipSpace(colon + 1, end);
      }
      if (this.isCommentOrEnd(p, end)) return;
    }
  }

  /** The `:` that makes the plain text at `p` a key, or -1 when it is a plain string. */
  private keyColon(p: number, end: number): number {
    const { text } = this;
    for (let k = p; k < end; k++) {
      const c = text.charCodeAt(k);
      if (c === COLON && this.isSep(k + 1, end)) return k;
      if (c === HASH && k > p && this.isSep(k - 1, end)) return -1;
    }
    return -1;
  }

  /** Offset of the quote that closes the string opened at `p`, on this line; -1 if none. */
  private closingQuote(p: number, end: number): number {
    const { text } = this;
    const q = text.charCodeAt(p);
    for (let k = p + 1; k < end; k++) {
      const c = text.charCodeAt(k);
      if (q === DQUOTE && c === BACKSLASH) k++;
      else if (c === q) {
        if (q === SQUOTE && text.charCodeAt(k + 1) === SQUOTE) k++;
        else return k;
      }
    }
    return -1;
  }

  /** A block collection entry at column `col`: the same collection as the line above, or a new, deeper one. */
  private enter(col: number, isSeq: boolean, at: number): boolean {
    let top = this.blocks.at(-1);
    if (top && top.indent === col) {
      if (top.isSeq === isSeq) return true;
      // A sequence may sit at the indent of the key that holds it; a key after it ends it.
      if (top.isSeq) {
        this.blocks.pop();
        top = this.blocks.at(-1);
        if (top && top.indent === col && !top.isSeq) return true;
      }
    }
    this.blocks.push({ indent: col, isSeq });
    if (this.depth() > this.max) {
      this.found = at;
      return false;
    }
    return true;
  }

  /**
   * Flow collections and quoted strings, which may go on over several lines. Returns where block
   * context resumes on this line (after the outermost collection or the string closed), or -1.
   */
  private inline(p: number, end: number): number {
    const { text } = this;
    for (let k = p; k < end; k++) {
      const c = text.charCodeAt(k);
      if (this.quote) {
        if (this.quote === DQUOTE && c === BACKSLASH) k++;
        else if (c === this.quote) {
          if (c === SQUOTE && text.charCodeAt(k + 1) === SQUOTE) k++;
          else {
            this.quote = 0;
            this.tokenStart = false;
            this.afterJsonLike = true;
            if (!this.flowIsSeq.length) return k + 1;
          }
        }
        continue;
      }
      if (c === SPACE || c === TAB) continue;
      if (c === HASH && (k === this.lineStart || this.isSep(k - 1, end))) return -1;
      if (c === OPEN_SEQ || c === OPEN_MAP) {
        this.flowIsSeq.push(c === OPEN_SEQ);
        this.flowPair.push(false);
        if (this.depth() > this.max) {
          this.found = k;
          return -1;
        }
        this.tokenStart = true;
        this.afterJsonLike = false;
      } else if (c === CLOSE_SEQ || c === CLOSE_MAP) {
        if (!this.flowIsSeq.length) continue; // a stray one: an error, nothing closes
        if (this.flowPair.pop()) this.pairs--;
        this.flowIsSeq.pop();
        this.tokenStart = false;
        this.afterJsonLike = true;
        if (!this.flowIsSeq.length) return k + 1;
      } else if (c === COMMA) {
        this.endPair();
        this.tokenStart = true;
        this.afterJsonLike = false;
      } else if (
        c === COLON &&
        (this.afterJsonLike || this.isSep(k + 1, end) || isFlowIndicator(text.charCodeAt(k + 1)))
      ) {
        if (!this.startPair(k)) return -1;
        this.tokenStart = true;
        this.afterJsonLike = false;
      } else if ((c === DQUOTE || c === SQUOTE) && this.tokenStart) {
        this.quote = c;
      } else if ((c === AMP || c === BANG) && this.tokenStart) {
        // An anchor or tag: the node it belongs to starts after it.
        while (k + 1 < end && !this.isSep(k + 1, end) && !isFlowIndicator(text.charCodeAt(k + 1)))
          k++;
      } else {
        this.tokenStart = c === QUESTION && this.isSep(k + 1, end);
        this.afterJsonLike = false;
      }
    }
    return -1;
  }

  /** `key: value` as an entry of a flow sequence is a mapping of one pair, one level deeper. */
  private startPair(at: number): boolean {
    const last = this.flowIsSeq.length - 1;
    if (last < 0 || !this.flowIsSeq[last] || this.flowPair[last]) return true;
    this.flowPair[last] = true;
    this.pairs++;
    if (this.depth() > this.max) {
      this.found = at;
      return false;
    }
    return true;
  }

  private endPair(): void {
    const last = this.flowPair.length - 1;
    if (last >= 0 && this.flowPair[last]) {
      this.flowPair[last] = false;
      this.pairs--;
    }
  }
}

/**
 * An upper bound on how deep any parser can nest in `text`, whatever it makes of quotes,
 * comments or errors: one level for every `[` and `{`, and two for every column a block entry
 * can start at. A block collection inside another starts further right, or once at the same
 * column (a sequence under a key); the only things that can stand before an entry on its line
 * are indentation, `-`, `?`, `:` and properties (`&anchor`, `!tag`), so the longest such line
 * prefix bounds the columns. Cheap and coarse: for deciding whether a parser that recurses per
 * level may run at all, not for refusing a file.
 */
export function nestingBound(text: string): number {
  let brackets = 0;
  let longestPrefix = 0;
  let lineStart = 0;
  let inPrefix = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === OPEN_SEQ || c === OPEN_MAP) brackets++;
    if (c === 0x0a || c === 0x0d) {
      // A lone CR ends a line for some parsers (js-yaml): a line for the bound as well.
      lineStart = i + 1;
      inPrefix = true;
    } else if (inPrefix) {
      if (c === AMP || c === BANG) {
        while (i + 1 < text.length && !isBreakOrSpace(text.charCodeAt(i + 1))) {
          i++;
          const d = text.charCodeAt(i);
          if (d === OPEN_SEQ || d === OPEN_MAP) brackets++;
        }
      } else if (c !== SPACE && c !== TAB && c !== DASH && c !== QUESTION && c !== COLON) {
        inPrefix = false;
        continue;
      }
      longestPrefix = Math.max(longestPrefix, i + 1 - lineStart);
    }
  }
  return brackets + 2 * (longestPrefix + 1);
}
