import { descriptorFile, fileVariable, isOperand, outputFiles } from './file-flow.js';
import { groupBefore, hereDocumentBodies, isPipeSubshell } from './pipe-structure.js';
import { callsShellFunction, type ShellFunction, simpleCommandWords } from './shell-commands.js';
import { loopInputOf, stdinSources } from './stdin-sources.js';

/*
 * How values move between a step's shell variables (and files): the flows lint follows a param
 * through, read from the text as a whole.
 */

export type Flow =
  | {
      kind: 'assign';
      name: string;
      start: number;
      end: number;
      isOutput?: boolean;
      /** `declare -n`: the value is the name of the variable it stands for. */
      isNameref?: boolean;
    }
  | { kind: 'call'; function: string; words: { start: number; end: number }[] }
  | { kind: 'set'; words: { start: number; end: number; text: string }[] }
  /** `at`: where the shift stands (in a function's body, it moves that function's params). */
  | { kind: 'shift'; count: number; at: number };

/** The declaration builtins: they assign, and print variables when given no name or -p. */
export const DECLARATIONS = new Set(['export', 'readonly', 'local', 'declare', 'typeset']);

/** How values move between variables: assignments, `set -- WORDS`, `shift N`. */
export function valueFlows(text: string, functions: readonly ShellFunction[]): Flow[] {
  const flows: Flow[] = [];
  for (const { words, name } of simpleCommandWords(text)) {
    const command = words[name]?.word;
    // `read -r X <<< "$T"`, `printf … "$T" | { read -r X; …`: X holds what it reads.
    // At the end of a pipe they run in a subshell (no lastpipe): nothing they set is left.
    const isGone = () => isPipeSubshell(text, words[0]!.at);
    if (command === 'read' && !isGone())
      for (const source of [...stdinSources(text, words), ...loopInputOf(text, words)])
        for (const variable of readVariables(words.slice(name + 1).map((w) => w.word)))
          flows.push({ kind: 'assign', name: variable, ...source, isOutput: true });
    // `mapfile -t A <<< "$T"`, `… | readarray A`: the array holds the lines it reads.
    if ((command === 'mapfile' || command === 'readarray') && !isGone())
      for (const source of stdinSources(text, words))
        flows.push({
          kind: 'assign',
          name: mapfileArray(words.slice(name + 1).map((w) => w.word)),
          ...source,
          isOutput: true,
        });
    if (command && callsShellFunction(functions, command, words[name]!.at, text, true))
      flows.push({
        kind: 'call',
        function: command,
        words: words
          .slice(name + 1)
          .filter((w) => !/^\d*[<>]/.test(w.word))
          .map((w) => ({ start: w.at, end: w.end })),
      });
    const assignments = words.slice(0, name);
    if (command && DECLARATIONS.has(command)) assignments.push(...words.slice(name + 1));
    // `declare -n R=NAME`, `local -n R=$1`: R is another name of the variable NAME.
    const isNameref =
      command !== undefined &&
      DECLARATIONS.has(command) &&
      words.slice(name + 1).some((w) => /^-\w*n/.test(w.word));
    for (const w of assignments) {
      const m = /^([A-Za-z_]\w*)(?:\[[^\]\s]*\])?\+?=/.exec(w.word);
      if (!m) continue;
      const start = w.at + m[0].length;
      // The value whole: a command substitution in it (`auth=$(printf … "$TOKEN" | base64)`)
      // is read as commands of their own, which end the assignment word early; an array's
      // words (`args=(-u "$T")`) too.
      flows.push({
        kind: 'assign',
        name: m[1]!,
        start,
        end: text[start] === '(' ? arrayEnd(text, start) : Math.max(w.end, wordEnd(text, start)),
        ...(isNameref ? { isNameref } : {}),
      });
    }
    // What a command prints into a file (`echo "$T" > f`, `… | tee -a f`), the file holds:
    // its words and what it reads on stdin.
    const program = words[name]?.word.split('/').pop();
    const written = [
      ...(program ? outputFiles(words) : []),
      ...(program === 'tee'
        ? words.slice(name + 1).filter((w, i, all) => isOperand(w.word, all[i - 1]?.word))
        : []),
    ];
    // `{ …; } > f`, `( … ) > f`, `done > f`, `fi > f`: the file holds what the group prints.
    if (name === words.length && /^(?:\d*|&)>/.test(words[0]?.word ?? '')) {
      const group = groupBefore(text, words[0]!.at);
      if (group)
        for (const file of outputFiles(words))
          flows.push({ kind: 'assign', name: fileVariable(file.word), ...group, isOutput: true });
    }
    for (const file of written) {
      const from = [
        ...(program === 'tee' ? [] : [{ start: words[name]!.at, end: words.at(-1)!.end }]),
        ...stdinSources(text, words),
      ];
      for (const source of from)
        flows.push({ kind: 'assign', name: fileVariable(file.word), ...source, isOutput: true });
    }
    // `exec 3<<<"$T"`, `exec 3<<EOF`: descriptor 3 reads it (`read -r x <&3`).
    if (program === 'exec')
      words.slice(name + 1).forEach((w, i, all) => {
        const next = all[i + 1];
        // `exec 3< <(printf %s "$T")`: descriptor 3 reads what the process substitution prints.
        const sub = /^(\d+)<(?:[ \t]*)(<\(.*)?$/.exec(w.word);
        const subFile = sub && descriptorFile(sub[1]!);
        if (sub && subFile) {
          const source = sub[2]
            ? { start: w.end - sub[2].length, end: w.end }
            : next?.word === '<' && text[next.end] === '('
              ? { start: next.at, end: closingParen(text, next.end) }
              : undefined;
          if (source)
            flows.push({ kind: 'assign', name: fileVariable(subFile), ...source, isOutput: true });
          return;
        }
        const m = /^(\d+)(<<<|<<-?)(.*)$/.exec(w.word);
        const file = m && descriptorFile(m[1]!);
        if (!m || !file) return;
        const from =
          m[2] === '<<<'
            ? m[3]
              ? [{ start: w.end - m[3].length, end: w.end }]
              : next
                ? [{ start: next.at, end: next.end }]
                : []
            : hereDocumentBodies(text, w.at, w.end);
        for (const source of from)
          flows.push({ kind: 'assign', name: fileVariable(file), ...source, isOutput: true });
      });
    // `cp SRC DST`, `mv SRC DST`: DST holds what SRC did.
    const operands = words
      .slice(name + 1)
      .filter((w, i, all) => isOperand(w.word, all[i - 1]?.word));
    if ((program === 'cp' || program === 'mv') && operands.length === 2)
      flows.push({
        kind: 'assign',
        name: fileVariable(operands[1]!.word),
        start: operands[0]!.at,
        end: operands[0]!.end,
        isOutput: true,
      });
    const args = words.slice(name + 1);
    // `printf -v NAME FORMAT ARGS`: the shell's own printf sets NAME from its arguments.
    if (
      command === 'printf' &&
      args[0]?.word === '-v' &&
      /^[A-Za-z_]\w*$/.test(args[1]?.word ?? '')
    )
      flows.push({
        kind: 'assign',
        name: args[1]!.word,
        start: args[1]!.end,
        end: args.at(-1)!.end,
      });
    if (command === 'set') {
      const dashes = args.findIndex((w) => w.word === '--');
      const operands =
        dashes >= 0 ? args.slice(dashes + 1) : /^[-+]/.test(args[0]?.word ?? '-') ? [] : args;
      flows.push({
        kind: 'set',
        words: operands.map((w) => ({ start: w.at, end: w.end, text: w.word })),
      });
    }
    // `${NAME:=WORD}`, `${NAME=WORD}`: NAME holds WORD when it was unset (or empty).
    for (const w of words)
      for (const m of w.word.matchAll(/\$\{([A-Za-z_]\w*):?=([^}]*)\}/g)) {
        const start = w.at + m.index + m[0].length - 1 - m[2]!.length;
        flows.push({ kind: 'assign', name: m[1]!, start, end: start + m[2]!.length });
      }
    // `for NAME in WORDS`: NAME holds each of the words in turn.
    if (command === 'for' && args[1]?.word === 'in' && /^[A-Za-z_]\w*$/.test(args[0]?.word ?? ''))
      for (const w of args.slice(2))
        flows.push({ kind: 'assign', name: args[0]!.word, start: w.at, end: w.end });
    if (command === 'shift')
      flows.push({
        kind: 'shift',
        count: /^\d+$/.test(args[0]?.word ?? '') ? Number(args[0]!.word) : 1,
        at: words[name]!.at,
      });
  }
  return flows;
}

/** The variables `read` sets, given its words: those after its options and their values. */
function readVariables(args: readonly string[]): string[] {
  const names: string[] = [];
  for (let k = 0; k < args.length; k++) {
    const word = args[k]!;
    if (/^\d*[<>]/.test(word)) {
      if (/^\d*(?:<<<|<<-?|<|>>?)$/.test(word)) k++; // its word follows
      continue;
    }
    if (word === '-a' && args[k + 1]) names.push(args[++k]!);
    else if (/^-[pdntNuit]$/.test(word)) k++;
    else if (/^[A-Za-z_]\w*$/.test(word)) names.push(word);
  }
  return names;
}

/** The array `mapfile`/`readarray` fills, given its words: its operand, else MAPFILE. */
function mapfileArray(args: readonly string[]): string {
  for (let k = 0; k < args.length; k++) {
    const word = args[k]!;
    if (/^\d*[<>]/.test(word)) {
      if (/^\d*(?:<<<|<<-?|<|>>?)$/.test(word)) k++; // its word follows
      continue;
    }
    if (/^-[dnOsuCc]$/.test(word)) k++;
    else if (/^[A-Za-z_]\w*$/.test(word)) return word;
  }
  return 'MAPFILE';
}

/** The end of an array's `( … )` that starts at `start` (quotes skipped). */
function arrayEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') i++;
    else if (c === "'" || c === '"') {
      const close = text.indexOf(c, i + 1);
      if (close < 0) return text.length;
      i = close;
    } else if (c === ')') return i + 1;
  }
  return text.length;
}

/**
 * Where the shell word starting at `start` ends: at a blank or an operator outside quotes,
 * `$(…)` and backquotes (a `\` escaping the next character).
 */
function wordEnd(text: string, start: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" && quote !== '"' && quote !== '`') {
      // Single quotes, also inside $(…): nothing in them counts.
      const close = text.indexOf("'", i + 1);
      if (close < 0) return text.length;
      i = close;
    } else if (c === '\\') i++;
    else if (c === '$' && text[i + 1] === '(') {
      depth++;
      i++;
    } else if (depth > 0) {
      if (c === '(') depth++;
      else if (c === ')') depth--;
    } else if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === '`') quote = c;
    else if (/[\s;&|<>()]/.test(c)) return i;
  }
  return text.length;
}

/** Where the parenthesis opened at `open` closes (after it), or the text's end (bounded scan). */
function closingParen(text: string, open: number): number {
  let depth = 0;
  for (let at = open; at < text.length; at++) {
    if (text[at] === '(') depth++;
    else if (text[at] === ')' && --depth === 0) return at + 1;
  }
  return text.length;
}
