/*
 * How YAML 1.2's core schema reads a plain scalar, and what the escapes of a double-quoted scalar
 * stand for, exactly as the strict parser (the `yaml` package, schema 'core') does: the subset
 * reader (yaml-subset.ts) must give the values it would.
 */

/** Double-quoted escapes with a fixed meaning (YAML 1.2 §5.7), as the strict parser reads them. */
export const doubleQuotedEscapes = new Map(
  Object.entries({
    '0': '\0',
    a: '\x07',
    b: '\b',
    e: '\x1b',
    f: '\f',
    n: '\n',
    r: '\r',
    t: '\t',
    v: '\v',
    N: '\u0085',
    _: '\u00a0',
    L: '\u2028',
    P: '\u2029',
    ' ': ' ',
    '"': '"',
    '/': '/',
    '\\': '\\',
  }),
);

const STRING = 0;
const NULL = 1;
const TRUE = 2;
const FALSE = 3;
const NUMBER = 4;
/** What a plain scalar starting with each ASCII character may be besides a string. */
const firstCharKind = new Uint8Array(0x80);
for (const [chars, kind] of [
  ['nN~', NULL],
  ['tT', TRUE],
  ['fF', FALSE],
  ['+-.0123456789', NUMBER],
] as const) {
  for (const ch of chars) firstCharKind[ch.charCodeAt(0)] = kind;
}

/**
 * A plain scalar's value under the YAML 1.2 core schema: the strict parser's tests (null, bool,
 * octal, decimal and hexadecimal int, .inf/.nan, float, in that order) and its resolutions.
 */
export function resolvePlainScalar(s: string): unknown {
  // By its first character a scalar can be only one kind of value, if any: each kind is tested
  // only where it can match. One table lookup sends the rest, most scalars and keys (they start
  // with another letter), straight back as strings: a switch over string cases compared each.
  const c = s.charCodeAt(0);
  switch (c < 0x80 ? firstCharKind[c] : STRING) {
    case NULL:
      return s === 'null' || s === 'Null' || s === 'NULL' || s === '~' ? null : s;
    case TRUE:
      return s === 'true' || s === 'True' || s === 'TRUE' ? true : s;
    case FALSE:
      return s === 'false' || s === 'False' || s === 'FALSE' ? false : s;
    case NUMBER:
      return resolveNumber(s);
    default:
      return s;
  }
}

// The core schema's number tests, in its order (resolveNumber); created once, not per call.
const octalInt = /^0o[0-7]+$/;
const decimalInt = /^[-+]?[0-9]+$/;
const hexInt = /^0x[0-9a-fA-F]+$/;
const infOrNaN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const expFloat = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const plainFloat = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

function resolveNumber(s: string): unknown {
  if (octalInt.test(s)) return Number.parseInt(s.substring(2), 8);
  if (decimalInt.test(s)) return Number.parseInt(s, 10);
  if (hexInt.test(s)) return Number.parseInt(s.substring(2), 16);
  if (infOrNaN.test(s)) {
    if (s.slice(-3).toLowerCase() === 'nan') return Number.NaN;
    return s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  if (expFloat.test(s) || plainFloat.test(s)) return Number.parseFloat(s);
  return s;
}
