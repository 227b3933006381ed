import { evalPythonLiteral } from './python-literal.js';

/**
 * The Jinja subset Ansible inventories commonly hold in variables, evaluated the way Ansible
 * does when it uses the variable: `{{ name }}` (another variable of the host, or
 * `inventory_hostname`, `inventory_hostname_short`, `group_names`), literals, and the
 * `default` filter (`d` too), as in `{{ bastion | default('jump.example.com') }}`. Anything
 * else (other filters, tests, operators, `{% %}` blocks, lookups) is refused by name.
 */

export class TemplateRefused extends Error {}

/** A variable the template reads that has no value (Jinja's Undefined). */
export class TemplateUndefined extends Error {
  constructor(readonly variable: string) {
    super(`'${variable}' is not defined`);
  }
}

export function isTemplate(value: string): boolean {
  // One scan for the common value without any `{` (every variable of every host is asked).
  const brace = value.indexOf('{');
  if (brace < 0) return false;
  return value.includes('{{', brace) || value.includes('{%', brace) || value.includes('{#', brace);
}

type Token =
  | { kind: 'name'; text: string }
  | { kind: 'literal'; value: unknown }
  | { kind: 'punct'; text: string };

const tokenRe =
  /\s*(?:([A-Za-z_][A-Za-z0-9_]*)|('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?)|([|(),]))/y;

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  tokenRe.lastIndex = 0;
  let at = 0;
  while (at < expr.length) {
    if (/^\s*$/.test(expr.slice(at))) break;
    tokenRe.lastIndex = at;
    const m = tokenRe.exec(expr);
    if (!m) throw new TemplateRefused(beyondSubset(expr));
    at = tokenRe.lastIndex;
    if (m[1] !== undefined) {
      const word = m[1];
      if (word === 'true' || word === 'True') tokens.push({ kind: 'literal', value: true });
      else if (word === 'false' || word === 'False') tokens.push({ kind: 'literal', value: false });
      else if (word === 'none' || word === 'None') tokens.push({ kind: 'literal', value: null });
      else tokens.push({ kind: 'name', text: word });
    } else if (m[2] !== undefined) {
      tokens.push({ kind: 'literal', value: m[2].slice(1, -1).replace(/\\(.)/g, '$1') });
    } else if (m[3] !== undefined) tokens.push({ kind: 'literal', value: Number(m[3]) });
    else tokens.push({ kind: 'punct', text: m[4]! });
  }
  return tokens;
}

const UNDEFINED = Symbol('undefined');

function beyondSubset(expr: string): string {
  return `'{{ ${expr.trim()} }}' is beyond the Jinja opsbook reads (a variable, a literal, | default(...))`;
}

class ExprEvaluator {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly lookUp: (name: string) => unknown,
    private readonly expr: string,
  ) {}

  private refuse(): never {
    throw new TemplateRefused(beyondSubset(this.expr));
  }

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  private punct(text: string): boolean {
    const t = this.peek();
    if (t?.kind === 'punct' && t.text === text) {
      this.i++;
      return true;
    }
    return false;
  }

  evaluate(): unknown {
    const value = this.filtered();
    if (this.i !== this.tokens.length) this.refuse();
    return value;
  }

  private filtered(): unknown {
    let value = this.primary();
    while (this.punct('|')) {
      const f = this.tokens[this.i++];
      if (f?.kind !== 'name' || (f.text !== 'default' && f.text !== 'd')) this.refuse();
      let fallback: unknown = '';
      let alsoFalsy = false;
      if (this.punct('(')) {
        if (!this.punct(')')) {
          fallback = this.filtered();
          if (this.punct(',')) alsoFalsy = Boolean(this.filtered());
          if (!this.punct(')')) this.refuse();
        }
      }
      if (value === UNDEFINED || (alsoFalsy && !value)) value = fallback;
    }
    return value;
  }

  private primary(): unknown {
    const t = this.tokens[this.i++];
    if (!t) this.refuse();
    if (t.kind === 'literal') return t.value;
    if (t.kind === 'name') {
      const next = this.peek();
      // A function call, attribute or subscript (lookup(...), x.y, x[0]) is beyond the subset.
      if (next?.kind === 'punct' && next.text === '(') this.refuse();
      const value = this.lookUp(t.text);
      return value;
    }
    return this.refuse();
  }

  /** The result must be defined, unless a default gave a value. */
  static finish(value: unknown, name: string): unknown {
    if (value === UNDEFINED) throw new TemplateUndefined(name);
    return value;
  }
}

/**
 * Render a template string. `lookUp` returns a variable's value, or `undefined` when the host
 * has none. A template that is one expression keeps the value's type, as Ansible does.
 */
export function renderVarTemplate(text: string, lookUp: (name: string) => unknown): unknown {
  if (text.includes('{%') || text.includes('{#')) {
    throw new TemplateRefused(
      'Jinja blocks ({% %}) and comments ({# #}) are beyond what opsbook reads',
    );
  }
  const parts: unknown[] = [];
  let rest = text;
  let missing = '';
  const look = (name: string) => {
    const v = lookUp(name);
    if (v === undefined) {
      missing ||= name;
      return UNDEFINED;
    }
    return v;
  };
  while (rest.length > 0) {
    const open = rest.indexOf('{{');
    if (open < 0) {
      parts.push(rest);
      break;
    }
    if (open > 0) parts.push(rest.slice(0, open));
    const close = rest.indexOf('}}', open + 2);
    if (close < 0) throw new TemplateRefused("a '{{' is never closed with '}}'");
    const expr = rest.slice(open + 2, close);
    missing = '';
    const value = new ExprEvaluator(tokenize(expr), look, expr).evaluate();
    parts.push(ExprEvaluator.finish(value, missing || expr.trim()));
    rest = rest.slice(close + 2);
  }
  // Ansible's ansible_eval_concat (non-native Jinja): the result is text, except that text
  // which reads as a Python list, dict or boolean is turned back into one.
  const out = parts.map(pythonText).join('');
  if (out.startsWith('{') || out.startsWith('[') || out === 'True' || out === 'False') {
    const literal = evalPythonLiteral(out);
    if (literal.kind === 'value') return literal.value;
  }
  return out;
}

/** What Python's str() gives for a value, which is what Ansible concatenates. */
function pythonText(value: unknown): string {
  return typeof value === 'string' ? value : pythonRepr(value);
}

function pythonRepr(value: unknown): string {
  if (typeof value === 'string') {
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
    const body = value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
    return quote + (quote === "'" ? body.replace(/'/g, "\\'") : body) + quote;
  }
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
  return `{${Object.entries(value as object)
    .map(([k, v]) => `${pythonRepr(k)}: ${pythonRepr(v)}`)
    .join(', ')}}`;
}
