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

/**
 * A plain scalar's value under the YAML 1.2 core schema: the strict parser's tests (null, bool,
 * octal, decimal and hexadecimal int, .inf/.nan, float, in that order) and its resolutions.
 */
export function resolvePlainScalar(s: string): unknown {
  // By its first character a scalar can be only one kind of value, if any: each kind is tested
  // only where it can match (most scalars and keys start with a letter, and stay strings).
  switch (s[0]) {
    case 'n':
    case 'N':
      return s === 'null' || s === 'Null' || s === 'NULL' ? null : s;
    case '~':
      return s === '~' ? null : s;
    case 't':
    case 'T':
      return s === 'true' || s === 'True' || s === 'TRUE' ? true : s;
    case 'f':
    case 'F':
      return s === 'false' || s === 'False' || s === 'FALSE' ? false : s;
    case '+':
    case '-':
    case '.':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
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
