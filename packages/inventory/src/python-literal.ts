import { MAX_DEPTH } from '@opsbook/schema';

/**
 * Ansible reads every INI value with Python's `ast.literal_eval` and keeps the text when that
 * fails: `port=22` is the number 22, `x="1"` on a host line is the number 1 (the shell-style
 * split already ate the quotes), `tags=['a','b']` is a list, `name=web 01` stays text.
 * This is that evaluation for the literals JSON can hold. Values Python would turn into
 * something JSON cannot hold (sets, complex numbers, huge integers) are refused, not guessed.
 */
export type PythonLiteral =
  | { kind: 'value'; value: unknown }
  | { kind: 'text' }
  | { kind: 'refused'; reason: string };

/**
 * "Not a literal: the text stays text". The common answer (host names, paths, addresses), so it
 * is one object thrown as is: an Error made per value would capture a stack trace each time, the
 * largest cost of reading a big INI inventory.
 */
const NOT_LITERAL = Object.freeze({ notLiteral: true });
class Unsupported extends Error {}

const numberRe =
  /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:(?:[0-9](?:_?[0-9])*)?\.[0-9](?:_?[0-9])*|[0-9](?:_?[0-9])*\.?)(?:[eE][+-]?[0-9](?:_?[0-9])*)?)[jJ]?/;
const nameRe = /^[A-Za-z_][A-Za-z0-9_]*/;
const stringStartRe = /^([rRuUbB]|[bB][rR]|[rR][bB])?('''|"""|'|")/;
const simpleEscapes: Record<string, string> = {
  '\n': '',
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

export function evalPythonLiteral(text: string): PythonLiteral {
  const src = text[0] === ' ' || text[0] === '\t' ? text.replace(/^[ \t]+/, '') : text;
  if (isPlainText(src)) return TEXT;
  // The two shapes of a large inventory's values that start like a number: a port or a count,
  // and an address (or version) of three or more dotted numbers, which Python does not take
  // (`127.0` then `.0`). Decided without the parser; test/python-peer.test.ts holds them to
  // python3's ast.literal_eval.
  if (decimalRe.test(src)) return { kind: 'value', value: Number(src) };
  if (dottedRe.test(src)) return TEXT;
  return parsePythonLiteral(src);
}

/** The answer for text that stays text: one object, never changed by a caller. */
const TEXT: PythonLiteral = Object.freeze({ kind: 'text' });

/** A decimal integer Python reads as itself, short enough to be exact as a JS number. */
const decimalRe = /^(?:0|[1-9][0-9]{0,14})$/;
/** Three or more dot-separated runs of digits (`10.0.0.1`, `1.2.3`): never a literal. */
const dottedRe = /^[0-9]+(?:\.[0-9]+){2,}$/;

/** evalPythonLiteral without its shortcuts, on text without leading blanks. */
function parsePythonLiteral(src: string): PythonLiteral {
  const parser = new LiteralParser(src);
  try {
    const value = parser.parseTop();
    return { kind: 'value', value };
  } catch (e) {
    if (e instanceof Unsupported) return { kind: 'refused', reason: e.message };
    if (e === NOT_LITERAL) return { kind: 'text' };
    throw e;
  }
}

/** The first characters of literalStartRe and stringStartRe, and of True, False and None. */
const literalOrPrefixFirst = '[({\'"+-.0123456789 \t\n\r\f#rRuUbBTFN';

/** What may start a literal: a bracket, a quote, a sign, a digit or `.`, whitespace or a comment. */
const literalStartRe = /^[[({'"+\-.0-9 \t\n\r\f#]/;

/**
 * Text the parser would refuse at its first token, decided without running it: a value that
 * starts with neither a literal's first character nor a string prefix (`r'`, `b"`…), nor with
 * True, False or None (`/etc/x`, `web01.example`, `~/.ssh/id`, `opsbench`). Exactly the texts
 * whose `parseValue` throws NOT_LITERAL before consuming anything.
 */
function isPlainText(src: string): boolean {
  if (src === '') return false;
  // Decided by the first character for most values (`/etc/x`, `web01`, `opsbench`): one that
  // cannot start a literal, a string prefix (r, u, b) or True, False and None.
  if (!literalOrPrefixFirst.includes(src[0]!)) return true;
  if (literalStartRe.test(src) || stringStartRe.test(src)) return false;
  const name = nameRe.exec(src)?.[0];
  return name !== 'True' && name !== 'False' && name !== 'None';
}

class LiteralParser {
  private pos = 0;
  /** Open brackets: the parser recurses once per level, so depth is bounded before the stack is. */
  private depth = 0;
  /** Whether the number parseNumber read last was an integer (not a float). */
  private wasInteger = false;
  constructor(private readonly src: string) {}

  parseTop(): unknown {
    const first = this.parseValue();
    this.skip();
    if (this.pos === this.src.length) return first;
    // `1, 2` without brackets is a tuple in Python.
    const items = [first];
    while (this.eat(',')) {
      this.skip();
      if (this.pos === this.src.length) break;
      items.push(this.parseValue());
      this.skip();
    }
    if (this.pos !== this.src.length) throw NOT_LITERAL;
    return items;
  }

  /** Whitespace and `#` comments, which Python's tokenizer drops. */
  private skip(): void {
    while (this.pos < this.src.length) {
      const c = this.src[this.pos]!;
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') this.pos++;
      else if (c === '#') {
        const nl = this.src.indexOf('\n', this.pos);
        this.pos = nl < 0 ? this.src.length : nl;
      } else break;
    }
  }

  private eat(s: string): boolean {
    this.skip();
    if (this.src.startsWith(s, this.pos)) {
      this.pos += s.length;
      return true;
    }
    return false;
  }

  private parseValue(): unknown {
    this.skip();
    const rest = this.src.slice(this.pos);
    if (rest.startsWith('[') || rest.startsWith('(') || rest.startsWith('{')) {
      if (this.depth >= MAX_DEPTH)
        throw new Unsupported(`it nests deeper than ${MAX_DEPTH} levels (flatten it)`);
      this.depth++;
      try {
        if (rest.startsWith('[')) return this.parseSeq('[', ']');
        return rest.startsWith('(') ? this.parseParen() : this.parseBrace();
      } finally {
        this.depth--;
      }
    }
    if (stringStartRe.test(rest)) return this.parseStrings();
    if (rest.startsWith('-') || rest.startsWith('+')) {
      this.pos++;
      this.skip();
      const n = this.parseNumber();
      // Python has no integer -0: `-0` is 0 (a float -0.0 stays -0.0).
      return rest.startsWith('-') ? (this.wasInteger && n === 0 ? 0 : -n) : n;
    }
    if (/^[0-9.]/.test(rest)) return this.parseNumber();
    const name = nameRe.exec(rest)?.[0];
    if (name === 'True' || name === 'False' || name === 'None') {
      this.pos += name.length;
      return name === 'True' ? true : name === 'False' ? false : null;
    }
    throw NOT_LITERAL;
  }

  private parseNumber(): number {
    const m = numberRe.exec(this.src.slice(this.pos));
    if (!m || m[0] === '' || m[0] === '.') throw NOT_LITERAL;
    const raw = m[0];
    this.pos += raw.length;
    if (nameRe.test(this.src.slice(this.pos))) throw NOT_LITERAL;
    if (/[jJ]$/.test(raw)) throw new Unsupported(`'${raw}' is a Python complex number`);
    const clean = raw.replace(/_/g, '');
    if (/^0[xXoObB]/.test(clean) || /^[0-9]+$/.test(clean)) {
      // Python refuses `010`; only zeros may lead.
      if (/^0[0-9]*[1-9]/.test(clean)) throw NOT_LITERAL;
      const big = BigInt(
        clean
          .replace(/^0[oO]/, '0o')
          .replace(/^0[bB]/, '0b')
          .replace(/^0[xX]/, '0x'),
      );
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new Unsupported(`the integer ${raw} is too large to keep exactly`);
      }
      this.wasInteger = true;
      return Number(big);
    }
    const n = Number(clean);
    this.wasInteger = false;
    if (!Number.isFinite(n)) throw new Unsupported(`'${raw}' overflows to infinity`);
    return n;
  }

  private parseStrings(): string {
    let out = '';
    // Adjacent literals concatenate: 'a' "b" is 'ab'.
    do {
      out += this.parseString();
      this.skip();
    } while (stringStartRe.test(this.src.slice(this.pos)));
    return out;
  }

  private parseString(): string {
    const m = stringStartRe.exec(this.src.slice(this.pos))!;
    const isRaw = /[rR]/.test(m[1] ?? '');
    const quote = m[2]!;
    this.pos += m[0].length;
    let out = '';
    while (this.pos < this.src.length) {
      if (this.src.startsWith(quote, this.pos)) {
        this.pos += quote.length;
        return out;
      }
      const c = this.src[this.pos]!;
      if (c === '\n' && quote.length === 1) throw NOT_LITERAL;
      if (c === '\\') {
        out += isRaw ? this.src.slice(this.pos, this.pos + 2) : this.unescape();
        this.pos += isRaw ? 2 : 0;
        continue;
      }
      out += c;
      this.pos++;
    }
    throw NOT_LITERAL;
  }

  private unescape(): string {
    const next = this.src[this.pos + 1];
    if (next === undefined) throw NOT_LITERAL;
    const simple = simpleEscapes[next];
    if (simple !== undefined) {
      this.pos += 2;
      return simple;
    }
    const oct = /^[0-7]{1,3}/.exec(this.src.slice(this.pos + 1));
    if (oct) {
      this.pos += 1 + oct[0].length;
      return String.fromCodePoint(Number.parseInt(oct[0], 8));
    }
    const width = next === 'x' ? 2 : next === 'u' ? 4 : next === 'U' ? 8 : 0;
    if (width > 0) {
      const hex = this.src.slice(this.pos + 2, this.pos + 2 + width);
      const cp = Number.parseInt(hex, 16);
      if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex) || cp > 0x10ffff) throw NOT_LITERAL;
      this.pos += 2 + width;
      return String.fromCodePoint(cp);
    }
    if (next === 'N')
      throw new Unsupported(
        'named unicode escapes (\\N{...}) are not supported: write the character',
      );
    // Python keeps an unknown escape as written.
    this.pos += 2;
    return `\\${next}`;
  }

  private parseSeq(open: string, close: string): unknown[] {
    this.pos += open.length;
    const items: unknown[] = [];
    // Bounded by the text: each round consumes at least one character or ends.
    for (;;) {
      if (this.eat(close)) return items;
      items.push(this.parseValue());
      if (this.eat(close)) return items;
      if (!this.eat(',')) throw NOT_LITERAL;
    }
  }

  /** `(1)` is 1, `(1,)` and `(1, 2)` are tuples, which JSON holds as lists. */
  private parseParen(): unknown {
    this.pos++;
    if (this.eat(')')) return [];
    const first = this.parseValue();
    if (this.eat(')')) return first;
    if (!this.eat(',')) throw NOT_LITERAL;
    const rest = this.parseSeq('', ')');
    return [first, ...rest];
  }

  private parseBrace(): unknown {
    this.pos++;
    const out: Record<string, unknown> = {};
    if (this.eat('}')) return out;
    for (let first = true; ; first = false) {
      const key = this.parseValue();
      if (!this.eat(':')) {
        // Only `{a, b}` is a set; any other `{` without a colon is not Python at all.
        if (!first || (!this.eat('}') && (!this.eat(',') || !this.parseSeq('', '}'))))
          throw NOT_LITERAL;
        throw new Unsupported(
          'a {...} without key: value pairs is a Python set, which has no JSON form',
        );
      }
      const name = jsonKey(key);
      if (Object.hasOwn(out, name))
        throw new Unsupported(`the key '${name}' appears twice in the same {...}`);
      Object.defineProperty(out, name, {
        value: this.parseValue(),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      if (this.eat('}')) return out;
      if (!this.eat(',')) throw NOT_LITERAL;
      if (this.eat('}')) return out;
    }
  }
}

/** Dict keys as Python's json.dumps writes them. */
function jsonKey(key: unknown): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'number') return String(key);
  if (key === true || key === false || key === null) return String(key);
  throw new Unsupported('a list or tuple cannot be a key of a {...}');
}
