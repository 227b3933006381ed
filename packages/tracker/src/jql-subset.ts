import { UsageError } from '@opsbook/schema';

/** A ticket as the local tracker's JQL subset sees it. */
export interface JqlSubject {
  project: string;
  key: string;
  status: string;
  summary: string;
  text: string;
  labels: string[];
  assignee: string | null;
  created: string;
}

type Clause = { field: keyof JqlSubject; op: '=' | '!=' | '~' | 'in'; values: string[] };

const TOKEN = /\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|(!=|=|~|\(|\)|,)|([^\s=!~(),"']+))/y;

function tokenize(jql: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < jql.length) {
    if (/^\s*$/.test(jql.slice(TOKEN.lastIndex))) break;
    const m = TOKEN.exec(jql);
    if (!m)
      throw new UsageError(
        `cannot read the JQL near "${jql.slice(TOKEN.lastIndex, TOKEN.lastIndex + 20)}": the local tracker understands field = "value" joined by AND`,
      );
    const quoted = m[1] ?? m[2];
    tokens.push(quoted !== undefined ? `\u0000${unescapeJql(quoted)}` : (m[3] ?? m[4] ?? ''));
  }
  return tokens;
}

/** A quoted value's escapes as JQL reads them (`\t`, `\n`, `\r`, `\uXXXX`; else the character). */
function unescapeJql(quoted: string): string {
  return quoted.replace(/\\(u[0-9a-fA-F]{4}|[\s\S])/g, (_, e: string) =>
    e.length === 5
      ? String.fromCharCode(Number.parseInt(e.slice(1), 16))
      : (({ t: '\t', n: '\n', r: '\r' } as Record<string, string>)[e] ?? e),
  );
}

const FIELDS = new Set([
  'project',
  'key',
  'status',
  'summary',
  'text',
  'labels',
  'assignee',
  'created',
]);

/**
 * The part of JQL the local tracker answers: `field op value` clauses joined by AND, with
 * `=`, `!=`, `~` (contains, case-insensitive) and `in (…)`, then an ignored ORDER BY.
 * Anything else is refused rather than half-understood.
 */
export function compileJql(jql: string): (subject: JqlSubject) => boolean {
  const tokens = tokenize(jql);
  const order = tokens.findIndex((t) => t.toLowerCase() === 'order');
  const body = order >= 0 ? tokens.slice(0, order) : tokens;
  const clauses: Clause[] = [];
  const value = (t: string | undefined) =>
    t === undefined ? '' : t.startsWith('\u0000') ? t.slice(1) : t;
  for (let i = 0; i < body.length; ) {
    const field = body[i]?.toLowerCase() ?? '';
    const op = body[i + 1]?.toLowerCase() as Clause['op'];
    if (!FIELDS.has(field) || !['=', '!=', '~', 'in'].includes(op)) {
      throw new UsageError(
        `the local tracker cannot answer the JQL "${jql}": use ${[...FIELDS].join(', ')} with =, !=, ~ or in, joined by AND`,
      );
    }
    let next = i + 2;
    const values: string[] = [];
    if (op === 'in') {
      next++; // "("
      while (next < body.length && body[next] !== ')') {
        if (body[next] !== ',') values.push(value(body[next]));
        next++;
      }
      next++;
    } else values.push(value(body[next++]));
    clauses.push({ field: field as keyof JqlSubject, op, values });
    if (next < body.length && body[next]?.toLowerCase() !== 'and')
      throw new UsageError(
        `the local tracker understands only AND between JQL clauses, not "${body[next]}"`,
      );
    i = next + 1;
  }
  return (subject) => clauses.every((c) => matches(subject, c));
}

function matches(subject: JqlSubject, c: Clause): boolean {
  const actual = subject[c.field];
  const list = Array.isArray(actual) ? actual : [actual ?? ''];
  const lower = list.map((v) => v.toLowerCase());
  const wanted = c.values.map((v) => v.toLowerCase());
  switch (c.op) {
    case '=':
    case 'in':
      return wanted.some((w) => lower.includes(w));
    case '!=':
      return !wanted.some((w) => lower.includes(w));
    case '~':
      return wanted.every((w) =>
        w.split(/\s+/).every((word) => lower.some((v) => v.includes(word))),
      );
  }
}
