/**
 * A secret as tools print it inside quotes: escaped for JSON (`jq`, `jq -a`, an API's echo of a
 * request, Python's `json.dumps`, Go's in kubectl and docker, JSON inside JSON as in kubectl's
 * last-applied-configuration, PHP's `json_encode` with `\/`), quoted for a shell (`set -x`,
 * `printf %q`, `${x@Q}`, `declare -p`), by Python's `repr` (of a `str`, and of `bytes`, which
 * `print(b)` shows), Perl, Node, YAML, SQL, CSV, HTML and XML. The quotes around the value are
 * not part of a form: the masker hides what is between them. Only forms that differ from the
 * secret are returned.
 * Percent-encodings (a URL, a form) are at the end of this file.
 */
export function escapedForms(secret: string): string[] {
  // What none of them escapes (a token, a line of a PEM key): no form differs from the secret.
  if (NEVER_ESCAPED.test(secret)) return [];
  const json = JSON.stringify(secret).slice(1, -1);
  const asciiJson = toAsciiJson(json);
  const goJson = toHtmlSafeJson(json);
  const forms = [
    json,
    asciiJson,
    goJson,
    // JSON of a document that holds the secret as a JSON string: escaped twice.
    JSON.stringify(json).slice(1, -1),
    JSON.stringify(asciiJson).slice(1, -1),
    toHtmlSafeJson(JSON.stringify(goJson).slice(1, -1)),
    // PHP's json_encode: `/` as `\/` (unless JSON_UNESCAPED_SLASHES), and every character past
    // ASCII as `\uXXXX` (unless JSON_UNESCAPED_UNICODE).
    asciiJson.replaceAll('/', '\\/'),
    json.replaceAll('/', '\\/'),
    ...shellForms(secret),
    pythonRepr(secret, false),
    pythonRepr(secret, true),
    nodeInspected(secret),
    // bash's `declare -p` / `export -p` double-quote a value: \ before " \ $ and `; Perl's
    // Data::Dumper single-quotes it: \ before ' and \.
    secret.replace(/["\\$`]/g, '\\$&'),
    secret.replace(/['\\]/g, '\\$&'),
    // YAML (PyYAML, kubectl -o yaml) and SQL single-quote a value writing ' as ''; YAML
    // double-quotes one with a character it escapes; CSV writes " as "".
    secret.replaceAll("'", "''"),
    yamlDoubleQuoted(secret),
    secret.replaceAll('"', '""'),
    ...htmlEscapedForms(secret),
  ];
  return [...new Set(forms)].filter((f) => f !== secret);
}

/** No `/`: PHP's json_encode escapes it. */
const NEVER_ESCAPED = /^[A-Za-z0-9+=._:@-]*$/;

/**
 * Go's `encoding/json` (kubectl's and docker's JSON): `<`, `>`, `&`, U+2028 and U+2029 as
 * `\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`, so that the JSON is safe inside HTML.
 */
function toHtmlSafeJson(json: string): string {
  return json.replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** `\uXXXX` (lower case) for each code unit past ASCII, as `jq -a` and `json.dumps` write them. */
function toAsciiJson(json: string): string {
  return json.replace(
    /[^\x00-\x7f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * bash's `set -x` trace and `${x@Q}` (`'` written `'\''`), busybox's trace (`'"'"'`), and
 * `printf %q`: a backslash before each character the shell would read (`~` and `#` only at the
 * start), or, for a value with a control character (or, in the C locale, past ASCII), the
 * `$'…'` form that `${x@Q}` uses for such a value too.
 */
function shellForms(secret: string): string[] {
  const forms = [
    secret.replaceAll("'", "'\\''"),
    secret.replaceAll("'", `'"'"'`),
    ansiCQuoted(secret, false),
    ansiCQuoted(secret, true),
  ];
  if (!/[\x00-\x1f\x7f]/.test(secret))
    forms.push(secret.replace(/[ \t\n'"\\|&;()<>!{}*[\]?^$`,]|^[~#]/g, '\\$&'));
  return forms;
}

/** The escapes bash's `$'…'` quoting writes; other control characters are written in octal. */
const ANSI_C_ESCAPES: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\x1b': '\\E',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  "'": "\\'",
  '\\': '\\\\',
};

/** What bash writes between `$'` and `'`; `bytes`: as in the C locale, each byte past ASCII in octal. */
function ansiCQuoted(secret: string, bytes: boolean): string {
  const octal = (byte: number) => `\\${byte.toString(8).padStart(3, '0')}`;
  let out = '';
  for (const c of secret) {
    const code = c.codePointAt(0)!;
    if (ANSI_C_ESCAPES[c] !== undefined) out += ANSI_C_ESCAPES[c];
    else if (code < 0x20 || code === 0x7f) out += octal(code);
    else if (code > 0x7f && bytes) for (const byte of Buffer.from(c, 'utf8')) out += octal(byte);
    else out += c;
  }
  return out;
}

/**
 * What Python's `repr` writes between the quotes: of the `str`, or of its UTF-8 `bytes`. It
 * quotes with `'`, or `"` when the value holds a `'` and no `"`; the quote it uses and `\` are
 * escaped, `\t \n \r` are written so, other characters it does not print as they are in hex.
 */
function pythonRepr(secret: string, bytes: boolean): string {
  const quote = secret.includes("'") && !secret.includes('"') ? '"' : "'";
  const hex = (code: number, digits: number, prefix: string) =>
    `\\${prefix}${code.toString(16).padStart(digits, '0')}`;
  let out = '';
  for (const c of secret) {
    const code = c.codePointAt(0)!;
    if (c === quote || c === '\\') out += `\\${c}`;
    else if (c === '\t') out += '\\t';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (bytes && code > 0x7e)
      for (const byte of Buffer.from(c, 'utf8')) out += hex(byte, 2, 'x');
    else if (c !== ' ' && NOT_PRINTED_BY_PYTHON.test(c))
      out +=
        code < 0x100 ? hex(code, 2, 'x') : code < 0x10000 ? hex(code, 4, 'u') : hex(code, 8, 'U');
    else out += c;
  }
  return out;
}

/** The characters `str.isprintable()` rejects (Python's `repr` escapes them). */
const NOT_PRINTED_BY_PYTHON = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;

/** What PyYAML writes for these between double quotes; others past ASCII as \\xXX, \\uXXXX. */
const YAML_ESCAPES: Record<string, string> = {
  '\0': '\\0',
  '\x07': '\\a',
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\v': '\\v',
  '\f': '\\f',
  '\r': '\\r',
  '\x1b': '\\e',
  '"': '\\"',
  '\\': '\\\\',
  '\x85': '\\N',
  '\xa0': '\\_',
  '\u2028': '\\L',
  '\u2029': '\\P',
};

/** A YAML double-quoted scalar as PyYAML writes it (every character past ASCII escaped). */
function yamlDoubleQuoted(secret: string): string {
  let out = '';
  for (const c of secret) {
    const code = c.codePointAt(0)!;
    const hex = (digits: number) => code.toString(16).toUpperCase().padStart(digits, '0');
    if (YAML_ESCAPES[c] !== undefined) out += YAML_ESCAPES[c];
    else if (code >= 0x20 && code < 0x7f) out += c;
    else if (code < 0x100) out += `\\x${hex(2)}`;
    else if (code < 0x10000) out += `\\u${hex(4)}`;
    else out += `\\U${hex(8)}`;
  }
  return out;
}

/**
 * Node's `util.inspect` (what `console.log` of an object shows): quoted with ', or " when the
 * value holds a ' and no ", or a backtick when it holds both; the quote used and \\ escaped,
 * control characters as \\n, \\t… or \\xXX.
 */
function nodeInspected(secret: string): string {
  const quote = !secret.includes("'")
    ? "'"
    : !secret.includes('"')
      ? '"'
      : !secret.includes('`') && !secret.includes('${')
        ? '`'
        : "'";
  let out = '';
  for (const c of secret) {
    const code = c.codePointAt(0)!;
    if (c === quote || c === '\\') out += `\\${c}`;
    else if (NODE_ESCAPES[c] !== undefined) out += NODE_ESCAPES[c];
    else if (code < 0x20 || (code >= 0x7f && code < 0xa0))
      out += `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += c;
  }
  return out;
}

const NODE_ESCAPES: Record<string, string> = {
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\f': '\\f',
  '\r': '\\r',
};

/**
 * Percent-encodings of a secret: `encodeURIComponent` (and jq's `@uri`), and every character but
 * `A-Z a-z 0-9 - . _ ~` encoded (Python's `urllib.parse.quote`, which keeps `/`, and `urlencode`;
 * curl's `--data-urlencode`, in lower case); each with a space as `%20` or as `+` (a form).
 */
export function percentEncodedForms(secret: string): string[] {
  const uri = encodeURIComponent(secret);
  const strict = uri.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const forms = [uri, strict, strict.replaceAll('%2F', '/')];
  const lower = forms.map((f) => f.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()));
  return [...forms, ...lower].flatMap((f) => [f, f.replaceAll('%20', '+')]);
}

/**
 * HTML and XML escaping: `&`, `<` and `>` always; `"` and `'` as Python's `html.escape` (`&quot;`,
 * `&#x27;`), jq's `@html` (`&apos;`), PHP and Go (`&#39;`, Go's `&#34;`) write them, or left as
 * they are (`xml.sax.saxutils.escape`, `html.escape(quote=False)`; `quoteattr` escapes only `"`).
 */
function htmlEscapedForms(secret: string): string[] {
  if (!/[&<>"']/.test(secret)) return [];
  const base = secret.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  const quoted = base.replaceAll('"', '&quot;');
  return [
    base,
    quoted,
    quoted.replaceAll("'", '&#x27;'),
    quoted.replaceAll("'", '&apos;'),
    quoted.replaceAll("'", '&#39;'),
    base.replaceAll('"', '&#34;').replaceAll("'", '&#39;'),
  ];
}
