/**
 * How the shell reads each character of a command: as code, inside '…', inside "…", in a
 * here-document's body, inside $(( )), or in a comment. A small POSIX sh lexer, enough to tell
 * where a `{{ … }}` placeholder lands (opsbook substitutes values already quoted, which is right
 * only where the shell reads code) and which words are commands. It follows nesting: $( ) and
 * backquotes start code again inside "…", ${ } takes the context around it. It is not a parser:
 * a `case` pattern's `)` inside $( ) ends the substitution early (then the rest reads as code).
 */

export type ShellContext = 'code' | 'single' | 'double' | 'heredoc' | 'arithmetic' | 'comment';

const contextCodes: readonly ShellContext[] = [
  'code',
  'single',
  'double',
  'heredoc',
  'arithmetic',
  'comment',
];
const CODE = 0;
const SINGLE = 1;
const DOUBLE = 2;
const HEREDOC = 3;
const ARITHMETIC = 4;
const COMMENT = 5;

type FrameKind = 'code' | 'double' | 'subst' | 'backtick' | 'arith' | 'param';
interface Frame {
  kind: FrameKind;
  /** Open parentheses inside a $( ) or $(( )) not yet closed. */
  depth: number;
}

interface PendingHeredoc {
  delimiter: string;
  stripsTabs: boolean;
}

/** The context of every character of `text` (`contextAt(i)` reads it). */
export interface ShellContexts {
  contextAt(offset: number): ShellContext;
}

export function shellContexts(text: string): ShellContexts {
  const codes = new Uint8Array(text.length);
  const stack: Frame[] = [{ kind: 'code', depth: 0 }];
  const pending: PendingHeredoc[] = [];
  const mark = (from: number, to: number, code: number) => codes.fill(code, from, to);
  const current = (): number => {
    for (let k = stack.length - 1; k >= 0; k--) {
      const kind = stack[k]!.kind;
      if (kind === 'double') return DOUBLE;
      if (kind === 'arith') return ARITHMETIC;
      if (kind !== 'param') return CODE;
    }
    return CODE;
  };
  const push = (kind: FrameKind) => stack.push({ kind, depth: 0 });
  const pop = () => {
    if (stack.length > 1) stack.pop();
  };

  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const top = stack[stack.length - 1]!;
    const here = current();
    if (c === '\n' && pending.length > 0 && top.kind !== 'double') {
      mark(i, i + 1, here);
      i = readHeredocBodies(text, i + 1, pending.splice(0), mark);
      continue;
    }
    if (c === '\\') {
      mark(i, i + 2, here);
      i += 2;
      continue;
    }
    const opener = substitutionAt(text, i);
    if (opener) {
      mark(i, i + opener.length, here);
      push(opener.kind);
      i += opener.length;
      continue;
    }
    if (top.kind === 'double') {
      mark(i, i + 1, DOUBLE);
      if (c === '"') pop();
      else if (c === '`') push('backtick');
      i++;
      continue;
    }
    if (top.kind === 'arith') {
      mark(i, i + 1, ARITHMETIC);
      if (c === '(') top.depth++;
      else if (c === ')' && top.depth > 0) top.depth--;
      else if (c === ')' && text[i + 1] === ')') {
        mark(i, i + 2, ARITHMETIC);
        pop();
        i += 2;
        continue;
      }
      i++;
      continue;
    }
    // Code: the bottom, $( ), backquotes and ${ }.
    if (c === "'") {
      const close = text.indexOf("'", i + 1);
      const end = close < 0 ? text.length : close + 1;
      mark(i, end, SINGLE);
      i = end;
      continue;
    }
    mark(i, i + 1, here);
    if (c === '"') push('double');
    else if (c === '`') top.kind === 'backtick' ? pop() : push('backtick');
    else if (c === '#' && top.kind !== 'param' && isWordStart(text, i)) {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      mark(i, stop, COMMENT);
      i = stop;
      continue;
    } else if (top.kind === 'param' && c === '}') pop();
    else if (top.kind === 'subst' && c === '(') top.depth++;
    else if (top.kind === 'subst' && c === ')') top.depth > 0 ? top.depth-- : pop();
    else if (c === '<' && text.startsWith('<<', i) && text[i + 2] !== '<') {
      const op = readHeredocOperator(text, i);
      if (op) {
        mark(i, op.end, here);
        pending.push(op.heredoc);
        i = op.end;
        continue;
      }
    }
    i++;
  }
  return { contextAt: (offset) => contextCodes[codes[offset] ?? CODE]! };
}

function substitutionAt(text: string, i: number): { kind: FrameKind; length: number } | undefined {
  if (text[i] !== '$') return undefined;
  if (text.startsWith('$((', i)) return { kind: 'arith', length: 3 };
  if (text[i + 1] === '(') return { kind: 'subst', length: 2 };
  if (text[i + 1] === '{') return { kind: 'param', length: 2 };
  return undefined;
}

/** A `#` starts a comment only at the start of a word. */
function isWordStart(text: string, i: number): boolean {
  return i === 0 || /[\s;&|(){}`]/.test(text[i - 1]!);
}

/** `<<WORD`, `<<-WORD`, `<< 'WORD'`, `<<"WORD"`, `<<\WORD`: the heredoc and where the word ends. */
function readHeredocOperator(
  text: string,
  at: number,
): { heredoc: PendingHeredoc; end: number } | undefined {
  let j = at + 2;
  const stripsTabs = text[j] === '-';
  if (stripsTabs) j++;
  while (text[j] === ' ' || text[j] === '\t') j++;
  const start = j;
  while (j < text.length && !/[\s;&|<>()]/.test(text[j]!)) {
    const q = text[j];
    if (q === "'" || q === '"') {
      const close = text.indexOf(q, j + 1);
      j = close < 0 ? text.length : close + 1;
    } else j++;
  }
  const word = text.slice(start, j);
  if (!word) return undefined;
  return {
    heredoc: {
      delimiter: word.replace(/['"\\]/g, ''),
      stripsTabs,
    },
    end: j,
  };
}

/** Marks the bodies of the here-documents that start at `from`; returns where code resumes. */
function readHeredocBodies(
  text: string,
  from: number,
  heredocs: PendingHeredoc[],
  mark: (from: number, to: number, code: number) => void,
): number {
  let i = from;
  for (const h of heredocs) {
    while (i < text.length) {
      const nl = text.indexOf('\n', i);
      const end = nl < 0 ? text.length : nl;
      const line = text.slice(i, end);
      const isEnd = (h.stripsTabs ? line.replace(/^\t+/, '') : line) === h.delimiter;
      mark(i, end, isEnd ? CODE : HEREDOC);
      i = end + 1;
      if (isEnd) break;
    }
  }
  return i;
}
