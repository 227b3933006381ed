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
  /** Offset of the frame's opener (`${` for a param frame). */
  start: number;
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
  /**
   * The character is inside backquotes (`` `…` ``), however deep: there the shell reads a `` ` ``
   * of a quoted value as the end of the command substitution.
   */
  backquotedAt(offset: number): boolean;
  /** Where the `${` starts when the character is directly inside one (not in a $( ) of it), or -1. */
  expansionStartAt(offset: number): number;
}

/** Set on a character's code when a backquote frame is open around it. */
const BACKQUOTED = 8;

export function shellContexts(text: string): ShellContexts {
  const codes = new Uint8Array(text.length);
  // Made at the first ${ }: most commands have none.
  let expansionStarts: Int32Array | undefined;
  const stack: Frame[] = [{ kind: 'code', depth: 0, start: 0 }];
  const pending: PendingHeredoc[] = [];
  let backquotes = 0;
  const mark = (from: number, to: number, code: number) => {
    const value = backquotes > 0 ? code | BACKQUOTED : code;
    if (to === from + 1) codes[from] = value;
    else codes.fill(value, from, to);
    const top = stack[stack.length - 1]!;
    if (top.kind === 'param') {
      expansionStarts ??= new Int32Array(text.length).fill(-1);
      expansionStarts.fill(top.start, from, to);
    }
  };
  const current = (): number => {
    for (let k = stack.length - 1; k >= 0; k--) {
      const kind = stack[k]!.kind;
      if (kind === 'double') return DOUBLE;
      if (kind === 'arith') return ARITHMETIC;
      if (kind !== 'param') return CODE;
    }
    return CODE;
  };
  // The context of the open frames, kept up to date by push and pop (the only changes of stack).
  let here = CODE;
  const push = (kind: FrameKind, start: number) => {
    if (kind === 'backtick') backquotes++;
    stack.push({ kind, depth: 0, start });
    here = current();
  };
  const pop = () => {
    if (stack.length > 1 && stack.pop()!.kind === 'backtick') backquotes--;
    here = current();
  };

  let i = 0;
  while (i < text.length) {
    // A run of characters that no frame reads as anything but text takes the frame's context
    // (each branch below marks such a character with it), in one fill.
    if (!isSpecial(text.charCodeAt(i))) {
      let end = i + 1;
      while (end < text.length && !isSpecial(text.charCodeAt(end))) end++;
      mark(i, end, here);
      i = end;
      continue;
    }
    const c = text[i]!;
    const top = stack[stack.length - 1]!;
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
      push(opener.kind, i);
      i += opener.length;
      continue;
    }
    if (top.kind === 'double') {
      mark(i, i + 1, DOUBLE);
      if (c === '"') pop();
      else if (c === '`') push('backtick', i);
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
    // bash's (( … )) (and `let`) evaluate arithmetic, as $(( )) does; sh reads two subshells.
    if (c === '(' && text[i + 1] === '(' && top.kind !== 'param') {
      mark(i, i + 2, ARITHMETIC);
      push('arith', i);
      i += 2;
      continue;
    }
    mark(i, i + 1, here);
    if (c === '"') push('double', i);
    else if (c === '`') top.kind === 'backtick' ? pop() : push('backtick', i);
    else if (c === '#' && top.kind !== 'param' && isWordStart(text, i)) {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      mark(i, stop, COMMENT);
      i = stop;
      continue;
    } else if (top.kind === 'param' && c === '}') pop();
    else if (top.kind === 'subst' && c === '(') top.depth++;
    else if (top.kind === 'subst' && c === ')') top.depth > 0 ? top.depth-- : pop();
    else if (c === '<' && text.startsWith('<<<', i)) {
      // A here-string: its word follows on the line; no here-document.
      mark(i, i + 3, here);
      i += 3;
      continue;
    } else if (c === '<' && text.startsWith('<<', i)) {
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
  return {
    contextAt: (offset) => contextCodes[(codes[offset] ?? CODE) & ~BACKQUOTED]!,
    backquotedAt: (offset) => ((codes[offset] ?? 0) & BACKQUOTED) !== 0,
    expansionStartAt: (offset) => expansionStarts?.[offset] ?? -1,
  };
}

/** The characters some frame reads as more than text: every other one takes its frame's context. */
const SPECIAL = new Uint8Array(128);
for (const c of '\n\\$\'()"`#}<') SPECIAL[c.charCodeAt(0)] = 1;
const isSpecial = (code: number): boolean => code < 128 && SPECIAL[code] === 1;

function substitutionAt(text: string, i: number): { kind: FrameKind; length: number } | undefined {
  if (text[i] !== '$') return undefined;
  // A line continuation (`\` and a line break) between `$` and `(` is removed before reading.
  const j = afterContinuations(text, i + 1);
  if (text[j] === '(' && text[afterContinuations(text, j + 1)] === '(')
    return { kind: 'arith', length: afterContinuations(text, j + 1) + 1 - i };
  if (text[j] === '(') return { kind: 'subst', length: j + 1 - i };
  if (text[j] === '{') return { kind: 'param', length: j + 1 - i };
  return undefined;
}

/** The offset after any line continuations (`\` and a line break) at `i`. */
export function afterContinuations(text: string, i: number): number {
  while (text[i] === '\\' && text[i + 1] === '\n') i += 2;
  return i;
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
