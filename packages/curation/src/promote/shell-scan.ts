import { type ShellContext, shellContexts } from '@opsbook/schema';

/**
 * What `opsbook promote` needs to know of a shell script, read with lint's lexer: where each
 * parameter is expanded (and with which `${…}` operator and word), where each variable is
 * assigned, which functions there are and where loops are. Heuristics over a lexer, not a parser:
 * enough for the scripts people write by hand, and what it cannot follow it says so (the caller
 * then falls back to a plainer mapping).
 */

/** One expansion: `$X`, `${X}`, `${X:-word}`, `$1`, `"$@"`, `${#X}`… */
export interface Reference {
  /** The variable (`HOST`), a digit string (`1`), or `@`, `*`, `#`. */
  name: string;
  /** Offset of its `$`. */
  start: number;
  /** Offset after it. */
  end: number;
  /** `:-`, `-`, `:=`, `=`, `:?`, `?`, `:+`, `+`, or undefined for none. */
  op?: string;
  /** The text after the operator, as written (quotes and all). */
  word?: string;
  /** `${#X}`: its length. */
  isLength?: boolean;
}

export interface Assignment {
  name: string;
  /** Offset of the name. */
  start: number;
  /** Where the assigned value ends (the assignment counts from there). */
  end: number;
  /** The value as written for `NAME=value`; undefined for `read`, `for`, `local NAME`, … */
  value?: string;
}

export interface FunctionBody {
  name: string;
  /** From the name to the closing brace. */
  start: number;
  end: number;
}

export interface ShellScan {
  text: string;
  /** The text with quoted text as `Q`, comments as spaces (same length, newlines kept). */
  code: string;
  contextAt(offset: number): ShellContext;
  references: Reference[];
  assignments: Assignment[];
  functions: FunctionBody[];
  /** How many loops (`do … done`) enclose `offset`. */
  loopDepthAt(offset: number): number;
  /** The function whose body holds `offset`, if any. */
  functionAt(offset: number): FunctionBody | undefined;
}

const EXPANDING: ReadonlySet<ShellContext> = new Set(['code', 'double', 'heredoc', 'arithmetic']);

export function scanShell(text: string): ShellScan {
  const contexts = shellContexts(text);
  let code = '';
  for (let i = 0; i < text.length; i++) {
    const kind = contexts.contextAt(i);
    const c = text[i]!;
    code += kind === 'code' || c === '\n' ? c : kind === 'comment' ? ' ' : 'Q';
  }
  const references: Reference[] = [];
  for (let i = text.indexOf('$'); i >= 0; i = text.indexOf('$', i + 1)) {
    if (!EXPANDING.has(contexts.contextAt(i)) || isEscaped(text, i)) continue;
    const ref = readReference(text, i);
    if (ref) references.push(ref);
  }
  const functions = findFunctions(text, code);
  const loops = loopMarks(code);
  return {
    text,
    code,
    contextAt: (offset) => contexts.contextAt(offset),
    references,
    assignments: findAssignments(text, code),
    functions,
    loopDepthAt: (offset) => loops.filter((m) => m.at <= offset).reduce((d, m) => d + m.delta, 0),
    functionAt: (offset) => functions.find((f) => f.start <= offset && offset < f.end),
  };
}

function isEscaped(text: string, i: number): boolean {
  let n = 0;
  for (let k = i - 1; k >= 0 && text[k] === '\\'; k--) n++;
  return n % 2 === 1;
}

const SPECIAL = /[0-9@*#?$!-]/;

/** The expansion at `$` (offset `at`), or undefined for `$(`, `$((` and a lone `$`. */
function readReference(text: string, at: number): Reference | undefined {
  const next = text[at + 1];
  if (next === undefined) return undefined;
  if (next === '{') {
    const close = matchingBrace(text, at + 1);
    if (close < 0) return undefined;
    const inner = text.slice(at + 2, close);
    const m = /^(#?)([A-Za-z_]\w*|\d+|[@*#?$!-])(.*)$/s.exec(inner);
    if (!m) return undefined;
    const [, hash, name, rest] = m as unknown as [string, string, string, string];
    // `${#}` is the count, `${#X}` the length of X.
    if (hash && !rest && name !== '#' && inner !== '#')
      return { name, start: at, end: close + 1, isLength: true };
    if (inner === '#') return { name: '#', start: at, end: close + 1 };
    const op = /^(:?[-=?+])/.exec(rest)?.[1];
    return {
      name,
      start: at,
      end: close + 1,
      ...(op ? { op, word: rest.slice(op.length) } : {}),
    };
  }
  if (/[A-Za-z_]/.test(next)) {
    const m = /^[A-Za-z_]\w*/.exec(text.slice(at + 1))!;
    return { name: m[0], start: at, end: at + 1 + m[0].length };
  }
  if (SPECIAL.test(next)) return { name: next, start: at, end: at + 2 };
  return undefined;
}

/** The offset of the `}` closing the `{` at `open` (nested `${ }` counted). */
function matchingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

/** `NAME=`, `export/readonly/local NAME[=]`, `read … NAME…`, `for NAME in`, `getopts S NAME`. */
function findAssignments(text: string, code: string): Assignment[] {
  const found: Assignment[] = [];
  const commandEnd = (from: number) => {
    const m = /[;&|\n]/.exec(code.slice(from));
    return m ? from + m.index : code.length;
  };
  for (const m of code.matchAll(/(?<![\w$/.{-])([A-Za-z_]\w*)=/g)) {
    const start = m.index;
    // The value: up to the first blank or separator outside quotes (quotes are Q in `code`).
    const valueStart = start + m[0].length;
    const end = valueEnd(text, code, valueStart);
    found.push({ name: m[1]!, start, end, value: text.slice(valueStart, end) });
  }
  for (const m of code.matchAll(
    /(?<![\w-])(?:local|readonly|export|declare|typeset)((?:\s+-\w+)*)((?:\s+[A-Za-z_]\w*(?=[\s;&|]|$))+)/g,
  )) {
    for (const n of m[2]!.matchAll(/[A-Za-z_]\w*/g))
      if (m[0].startsWith('local') || m[0].startsWith('declare') || m[0].startsWith('typeset'))
        found.push({ name: n[0], start: m.index, end: commandEnd(m.index) });
  }
  for (const m of code.matchAll(/(?<![\w-])read\b([^;&|\n]*)/g)) {
    const words = m[1]!.trim().split(/\s+/).filter(Boolean);
    for (let w = 0; w < words.length; w++) {
      const word = words[w]!;
      if (/^-[adnNptu]$/.test(word)) w++;
      else if (/^[A-Za-z_]\w*$/.test(word))
        found.push({ name: word, start: m.index, end: commandEnd(m.index) });
    }
  }
  for (const m of code.matchAll(/(?<![\w-])(?:for|select)\s+([A-Za-z_]\w*)/g))
    found.push({ name: m[1]!, start: m.index, end: m.index + m[0].length });
  for (const m of code.matchAll(/(?<![\w-])getopts\s+\S+\s+([A-Za-z_]\w*)/g))
    found.push({ name: m[1]!, start: m.index, end: m.index + m[0].length });
  return found;
}

function valueEnd(text: string, code: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const c = code[i]!;
    if (c === 'Q') continue;
    if (c === '(' || c === '{') depth++;
    else if ((c === ')' || c === '}') && depth > 0) depth--;
    else if (depth === 0 && /[\s;&|)]/.test(c)) return i;
  }
  return text.length;
}

/** `name() {`, `function name {`, `function name() {` … up to the matching `}`. */
function findFunctions(text: string, code: string): FunctionBody[] {
  const found: FunctionBody[] = [];
  const header =
    /(?:^|[\n;&|])[ \t]*(?:function[ \t]+([A-Za-z_][\w-]*)[ \t]*(?:\([ \t]*\))?|([A-Za-z_][\w-]*)[ \t]*\([ \t]*\))[ \t\n]*\{/g;
  for (const m of code.matchAll(header)) {
    const open = m.index + m[0].length - 1;
    const close = closingBrace(code, open);
    const name = (m[1] ?? m[2])!;
    found.push({ name, start: m.index + m[0].indexOf(name), end: close < 0 ? text.length : close });
  }
  return found;
}

/** The `}` closing the brace group at `open`, counting braces in code (`${ }` skipped). */
function closingBrace(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    const c = code[i];
    if (c === '$' && code[i + 1] === '{') {
      const end = code.indexOf('}', i);
      if (end < 0) return -1;
      i = end;
    } else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

/** `do` opens a loop body and `done` closes it (words of code, not of quoted text). */
function loopMarks(code: string): Array<{ at: number; delta: number }> {
  const marks: Array<{ at: number; delta: number }> = [];
  for (const m of code.matchAll(/(?<![\w-])(do|done)(?![\w-])/g))
    marks.push({ at: m.index, delta: m[1] === 'do' ? 1 : -1 });
  return marks;
}
