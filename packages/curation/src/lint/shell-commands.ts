import { shellContexts } from '@opsbook/schema';
import { substitutions } from './command-substitutions.js';

/**
 * Reading commands out of shell text: simple commands and their words, shell functions, and
 * whether a word is a command's name, an argument or where output goes. What the rules ask of
 * them is in command-checks.ts (hosts, root, downloads, files) and pipe-structure.ts (where a
 * command's stdin comes from). Heuristics over a lexer, not a parser; each errs towards saying
 * nothing (a rule that cries wolf gets suppressed everywhere).
 */

/** A simple command: its name, first operand, whether it reads a pipe, and if it writes a file. */
export interface SimpleCommand {
  name: string;
  /** The first word after the name that is not an option (systemctl's subcommand). */
  operand?: string;
  isPiped: boolean;
  writesFile: boolean;
}

const KEYWORDS = new Set([
  'if',
  'then',
  'else',
  'elif',
  'fi',
  'do',
  'done',
  'while',
  'until',
  'case',
  'esac',
  '!',
  'time',
]);

/**
 * The simple commands of `text`, quoted text and comments blanked out. Undefined when the text
 * holds something the heuristic does not follow (a function, a loop header, a command that is a
 * variable): callers then say nothing.
 */
export function simpleCommands(text: string): SimpleCommand[] | undefined {
  const code = blankedCode(text);
  const commands: SimpleCommand[] = [];
  // Split on what ends or starts a command; remember which piece follows a single `|`.
  const pieces = code.split(COMMAND_BOUNDARY);
  let isPiped = false;
  for (let k = 0; k < pieces.length; k += 2) {
    const words = pieces[k]!.trim().split(/\s+/).filter(Boolean);
    const separator = pieces[k + 1];
    let w = 0;
    while (w < words.length && (KEYWORDS.has(words[w]!) || /^[A-Za-z_]\w*=/.test(words[w]!))) w++;
    if (w < words.length) {
      const name = words[w]!;
      if (name === 'for' || name === 'function' || name.endsWith('()') || /[$Q]/.test(name))
        return undefined;
      const rest = words.slice(w + 1);
      const operand = rest.find((x) => !x.startsWith('-'));
      commands.push({
        name,
        ...(operand !== undefined ? { operand } : {}),
        isPiped,
        // `>file` joined here; a bare `>` takes the next word, judged below.
        writesFile: rest.some((x) => /^\d*>>?(?![&\s])./.test(x) && !/^\d*>>?\/dev\/null$/.test(x)),
      });
    }
    isPiped = separator === '|';
  }
  // `cmd > file` with a space: the word after a bare `>` is the file.
  for (const m of code.matchAll(/(?<![<>&\d])\d*>>?\s+(\S+)/g))
    if (m[1] !== '/dev/null' && commands.length) commands[commands.length - 1]!.writesFile = true;
  return commands;
}

/** What ends or starts a command. */
const COMMAND_BOUNDARY = /(\|\||&&|;;|[;&|\n(){}`]|\$\()/;

/** The same, but the `&` of a redirection (`2>&1`, `<&3`, `&> f`) is part of its word. */
const WORD_BOUNDARY = /(\|\||&&|;;|[;|\n(){}`]|(?<![<>])&(?!>)|\$\()/;

/** What stands for text the reading hides within a word (a substitution, xargs' and find's `{}`). */
const HIDDEN = '\x01';

/** `text` with quoted text as `Q` and comments as spaces (same length: offsets hold). */
export function blankedCode(text: string): string {
  return remembered(blanked, text, blank);
}
const blanked = new Map<string, string>();
const substitutionsOf = new Map<string, ReturnType<typeof substitutions>>();
const contextsOf = new Map<string, ReturnType<typeof shellContexts>>();
/** The blanked code with each command substitution hidden (argvWordIn's reading). */
const hiddenOf = new Map<string, string>();

/**
 * What `make` gives for `text`, kept: lint asks about one text many times (per word, per
 * reference). The last few texts of each kind are kept.
 */
function remembered<T>(kept: Map<string, T>, text: string, make: (text: string) => T): T {
  const known = kept.get(text);
  if (known !== undefined) return known;
  const made = make(text);
  if (kept.size >= 16) kept.delete(kept.keys().next().value!);
  kept.set(text, made);
  return made;
}

function blank(text: string): string {
  const contexts = shellContexts(text);
  let code = '';
  for (let i = 0; i < text.length; i++) {
    const kind = contexts.contextAt(i);
    const c = text[i]!;
    // A command substitution inside "…" starts commands as it does outside (`"$(env | …)"`).
    const opener =
      c === '$' && text[i + 1] === '('
        ? 2
        : c === '(' && text[i - 1] === '$'
          ? 1
          : c === '`'
            ? 1
            : 0;
    const opensCode =
      kind === 'double' &&
      opener > 0 &&
      i + opener < text.length &&
      contexts.contextAt(i + opener) === 'code';
    code += kind === 'code' || opensCode ? c : kind === 'comment' || c === '\n' ? ' ' : 'Q';
  }
  // `{}` (xargs -I{}, find -exec … {}) is a word, never a group.
  return code.replace(/\\\n/g, '  ').replace(/\{\}/g, HIDDEN + HIDDEN);
}

/**
 * Builtins whose arguments never become the argv of a process (ps and /proc show nothing):
 * the declarations, `set --` (the positional params, as promote's prologue sets them), and the
 * output and test builtins of sh (dash, bash) that a secret is piped out of
 * (`printf '%s' "$TOKEN" | login --password-stdin`), and `read`. `/usr/bin/printf` or `env
 * printf` is a program: its argv is in ps.
 */
const ARGV_FREE_BUILTINS = new Set([
  'set',
  'export',
  'readonly',
  'local',
  'declare',
  'typeset',
  'echo',
  'printf',
  'test',
  '[',
  ':',
  'read',
  'cd',
  'unset',
  'shift',
  'exit',
  'return',
]);

export interface CommandWord {
  role: 'assignment' | 'builtin-argument' | 'redirection' | 'argument';
  command?: string;
  /** The word starts at `offset` (nothing of it before). */
  startsWord?: boolean;
  /** A `--` word comes earlier in the command: what follows is never an option. */
  afterDoubleDash?: boolean;
  /** The word before it in the command (the command name for the first argument). */
  previous?: string;
  /** The command is a function of the text: no process, but its words are split and globbed. */
  isFunctionCall?: true;
}

/**
 * How the shell uses the word at `offset`: an assignment word (`PGPASSWORD=…` before a command,
 * a command of assignments only, or an array's words `args=(…)`: the environment or a variable),
 * an argument of a builtin or of a function of the text, which start no process, a redirection's
 * word (`<<< "$x"` is stdin, `> "$f"` a file), or an argument (or the name) of a command, which a
 * process gets in its argv. Undefined where it is not in a command word (a keyword, a quoted or
 * commented spot).
 */
export function commandWordAt(text: string, offset: number): CommandWord | undefined {
  return wordAt(blankedCode(text), offset, shellFunctions(text), 0, text);
}

/**
 * commandWordAt through command substitutions: in `$(…)` or backquotes (also inside double
 * quotes), the word of the command inside when it is an argument there (`$(curl -u "$T" …)`),
 * else the word the substitution stands in, which its output becomes (`curl -u "$(printf %s
 * "$T")"` is an argument of curl, `PGPASSWORD="$(printf %s "$T")" psql` an assignment).
 */
export function argvWordAt(text: string, offset: number): CommandWord | undefined {
  return argvWordIn(text, offset, shellFunctions(text), 0, 0, text);
}

/**
 * The word that what the command at `offset` prints becomes: the word its `$(…)` stands in
 * (`curl -u "$(env | sed …)"` is curl's argument), judged as argvWordAt judges it; undefined
 * where its output goes to no word (the step's output, a pipe, a file).
 */
export function outputWordAt(text: string, offset: number): CommandWord | undefined {
  return argvWordIn(text, offset, shellFunctions(text), 0, 0, text, true);
}

/**
 * `base`: where `text` stands in the whole text (`whole`), which `functions` are positions of.
 * `isOutput`: judge where the output of the command at `offset` goes, not the word there.
 */
function argvWordIn(
  text: string,
  offset: number,
  functions: readonly ShellFunction[],
  depth: number,
  base: number,
  whole: string,
  isOutput = false,
): CommandWord | undefined {
  const subs = remembered(substitutionsOf, text, substitutions);
  const inside =
    depth < 8 ? subs.find((s) => offset >= s.contentStart && offset < s.contentEnd) : undefined;
  if (!inside && isOutput) return undefined;
  if (inside) {
    const inner = argvWordIn(
      text.slice(inside.contentStart, inside.contentEnd),
      offset - inside.contentStart,
      functions,
      depth + 1,
      base + inside.contentStart,
      whole,
      isOutput,
    );
    if (inner?.role === 'argument') return inner;
    // `$(printf %s "$T" | sha256sum)`: what the substitution gives is a digest, not the value.
    const content = text.slice(inside.contentStart, inside.contentEnd);
    if (isDigested(content, offset - inside.contentStart, content.length)) return inner;
    return argvWordIn(text, inside.start, functions, depth + 1, base, whole) ?? inner;
  }
  // A here-document's body is its command's stdin.
  if (remembered(contextsOf, text, shellContexts).contextAt(offset) === 'heredoc')
    return { role: 'redirection' };
  const code = remembered(hiddenOf, text, (t) => {
    let hidden = blankedCode(t);
    for (const s of subs)
      hidden = hidden.slice(0, s.start) + HIDDEN.repeat(s.end - s.start) + hidden.slice(s.end);
    return hidden;
  });
  return wordAt(code, offset, functions, base, whole);
}

/**
 * Whether `name` called at `at` (in the whole text) runs a function of the text rather than a
 * program: one defined before the call, or the call is made in a function's body and a function
 * `name` is defined before the first call of every function whose body holds it (the body runs
 * there). A function defined only after the call (`curl -u "$T" …` then `curl() { :; }`), or
 * only after the call of the function that makes it (`f() { curl -u "$T" …; }; f; curl() { :; }`),
 * is not the one the shell runs there. `text`: the whole text, to find those first calls.
 */
export function callsShellFunction(
  functions: readonly ShellFunction[],
  name: string,
  at: number,
  text: string,
  /** Count a definition the shell may skip too (what the function's body may be handed). */
  mayRun = false,
): boolean {
  // A definition in a branch, a loop or another function's body, or after && or ||, may not
  // have been made when the call runs: lint cannot know, so the real program may run there.
  const defined = functions.filter((f) => f.name === name && (mayRun || !f.isConditional));
  if (defined.some((f) => f.bodyEnd <= at)) return true;
  const holding = functions.filter((g) => at >= g.bodyStart && at < g.bodyEnd);
  if (!defined.length || !holding.length) return false;
  const names = commandNames(text);
  return holding.every((g) => {
    // The first call of g outside its own body (a recursive call runs only once g does).
    const first = names.find((w) => w.word === g.name && (w.at < g.bodyStart || w.at >= g.bodyEnd));
    // A function never called never runs its body: what it would run is not judged here.
    return first === undefined || defined.some((f) => f.bodyEnd <= first.at);
  });
}

/** The name word of each simple command of the last text asked about (lint asks per word). */
let namesOf: { text: string; names: { word: string; at: number }[] } | undefined;
function commandNames(text: string): { word: string; at: number }[] {
  if (namesOf?.text !== text)
    namesOf = {
      text,
      names: simpleCommandWords(text).flatMap(({ words, name }) => words[name] ?? []),
    };
  return namesOf.names;
}

function wordAt(
  code: string,
  offset: number,
  functions: readonly ShellFunction[],
  base: number,
  whole: string,
): CommandWord | undefined {
  let start = 0;
  const pieces = code.split(COMMAND_BOUNDARY);
  for (let k = 0; k < pieces.length; k++) {
    const piece = pieces[k]!;
    const end = start + piece.length;
    if (offset >= start && offset < end && !COMMAND_BOUNDARY.test(piece)) {
      // The words of an array: `args=(-u "$T")`, `args+=(…)`.
      if (pieces[k - 1] === '(' && /[A-Za-z_]\w*\+?=$/.test(pieces[k - 2] ?? ''))
        return { role: 'assignment' };
      const words = [...piece.matchAll(/\S+/g)].map((m) => ({
        word: m[0],
        at: start + m.index,
      }));
      let w = 0;
      while (w < words.length && KEYWORDS.has(words[w]!.word)) w++;
      const target = words.findIndex((x) => offset >= x.at && offset < x.at + x.word.length);
      if (target < w) return undefined;
      // `case WORD in` and `for NAME in WORDS` expand their words in the shell itself: no
      // process gets them in its argv.
      if (words[w - 1]?.word === 'case') return { role: 'builtin-argument', command: 'case' };
      if (words[w]?.word === 'for') return { role: 'builtin-argument', command: 'for' };
      // A redirection's word is a file or stdin (`<<< WORD`), not an argument.
      if (
        REDIRECTION.test(words[target]!.word) ||
        /^\d*(?:<<<|<<-?|<>|>>|>\||>&|<&|&>>?|<|>)$/.test(words[target - 1]?.word ?? '')
      )
        return { role: 'redirection' };
      let name = w;
      while (name < words.length && ASSIGNMENT.test(words[name]!.word)) name++;
      if (target < name) return { role: 'assignment' };
      // `command printf …`, `builtin echo …`: the builtin itself runs, never a function.
      const first = name;
      while (name < target && /^(?:command|builtin)$/.test(words[name]!.word)) {
        name++;
        if (words[name]?.word === '-p' && name < target) name++;
      }
      const command = words[name]!.word;
      const known = /[$Q\x01]/.test(command) ? {} : { command };
      const place = {
        startsWord: words[target]?.at === offset,
        afterDoubleDash: words
          .slice(name + 1, Math.max(target, name + 1))
          .some((x) => x.word === '--'),
        ...(target > name ? { previous: words[target - 1]!.word } : {}),
      };
      const isFunctionCall =
        name === first && callsShellFunction(functions, command, base + words[name]!.at, whole);
      if (isFunctionCall && target > name)
        return { role: 'builtin-argument', ...known, ...place, isFunctionCall };
      return ARGV_FREE_BUILTINS.has(command) && target > name
        ? { role: 'builtin-argument', ...known, ...place }
        : { role: 'argument', ...known, ...place };
    }
    start = end;
  }
  return undefined;
}

/** An assignment word: `NAME=…`, `NAME+=…`, an array's element `NAME[I]=…`. */
export const ASSIGNMENT = /^[A-Za-z_]\w*(?:\[[^\]\s]*\])?\+?=/;

/** A word that starts with a redirection operator (`<<<"$T"`, `2>/dev/null`, `>"$f"`). */
const REDIRECTION = /^\d*(?:<<<|<<-?|<>|>>|>\||>&|<&|&>>?|<|>)./;

/** A function the text defines (`name() { … }`, `function name { … }`), with its body. */
export interface ShellFunction {
  name: string;
  bodyStart: number;
  bodyEnd: number;
  /**
   * Defined inside an `if`, `case` or loop, another function's body, or after `&&` or `||`:
   * the shell may never define it.
   */
  isConditional: boolean;
}

/** The functions of `text` whose body (`{ … }` or `( … )`) ends in the text. */
export function shellFunctions(text: string): ShellFunction[] {
  const code = blankedCode(text);
  const found: ShellFunction[] = [];
  for (const m of code.matchAll(
    /(?:^|[\s;&|(){}])(?:function\s+([A-Za-z_][\w-]*)\s*(?:\(\s*\))?|([A-Za-z_][\w-]*)\s*\(\s*\))\s*([{(])/g,
  )) {
    const open = m.index + m[0].length - 1;
    const close = m[3] === '{' ? '}' : ')';
    let depth = 0;
    for (let i = open; i < code.length; i++) {
      if (code[i] === m[3]) depth++;
      else if (code[i] === close && --depth === 0) {
        const at = m.index + m[0].length - m[0].trimStart().length;
        found.push({
          name: (m[1] ?? m[2])!,
          bodyStart: open + 1,
          bodyEnd: i,
          isConditional: isInCompound(code, at) || /(?:&&|\|\|)\s*$/.test(code.slice(0, at)),
        });
        break;
      }
    }
  }
  for (const f of found)
    if (found.some((g) => g !== f && f.bodyStart > g.bodyStart && f.bodyEnd <= g.bodyEnd))
      f.isConditional = true;
  return found;
}

/** Whether `at` in blanked `code` is inside an `if`, a `case` or a loop's `do … done`. */
function isInCompound(code: string, at: number): boolean {
  let depth = 0;
  for (const m of code
    .slice(0, at)
    .matchAll(/(?<=(?:^|[;&|(){}\n])[ \t]*)(if|fi|case|esac|do|done)(?![\w/.-])/g))
    depth += m[1] === 'if' || m[1] === 'case' || m[1] === 'do' ? 1 : -1;
  return depth > 0;
}

/**
 * Every simple command of `text` as its words (quoted text kept within its word, comments
 * left out), keywords before it dropped; `name` is the index of the command's name, after its
 * assignment words (`words.length` for a command of assignments only).
 */
export function simpleCommandWords(
  text: string,
): { words: { word: string; at: number; end: number }[]; name: number }[] {
  // `${X:-d}` outside quotes is one piece of a word, not a `{ }` group.
  const code = blankedCode(text).replace(/\$\{[^}\s]*\}/g, (m) => 'V'.repeat(m.length));
  const commands: { words: { word: string; at: number; end: number }[]; name: number }[] = [];
  let start = 0;
  for (const piece of code.split(WORD_BOUNDARY)) {
    if (!WORD_BOUNDARY.test(piece)) {
      const all = [...piece.matchAll(/\S+/g)].map((m) => ({
        word: text.slice(start + m.index, start + m.index + m[0].length),
        at: start + m.index,
        end: start + m.index + m[0].length,
      }));
      let w = 0;
      while (w < all.length && KEYWORDS.has(all[w]!.word)) w++;
      const words = all.slice(w);
      let name = 0;
      // Assignment words and redirections before the name (`< f xargs …`).
      for (;;) {
        const word = words[name]?.word ?? '';
        if (ASSIGNMENT.test(word)) name++;
        else if (/^\d*(?:<<<|<<-?|<>|>>|>\||>&|<&|&>>?|<|>)$/.test(word)) name += 2;
        else if (REDIRECTION.test(word)) name++;
        else break;
      }
      name = Math.min(name, words.length);
      if (words.length) commands.push({ words, name });
    }
    start += piece.length;
  }
  return commands;
}

/** Programs whose output says nothing of their input but a digest or a count. */
const DIGESTS = /^(?:sha(?:1|224|256|384|512)sum|md5sum|b2sum|cksum|sum|wc)$/;

/**
 * Whether what the command at `at` prints is piped, before `until`, through a program that
 * prints only a digest or a count of it (`printf %s "$T" | sha256sum`): what comes out of the
 * pipe is not the value. Only a pipe on the same list counts (`;`, `&&`, a line or the end of
 * the `$(…)` around it end the reading).
 */
export function isDigested(text: string, at: number, until: number): boolean {
  const code = blankedCode(text);
  let depth = 0;
  for (let i = at; i < Math.min(until, code.length); i++) {
    const c = code[i]!;
    if (c === '(') depth++;
    else if (c === ')') {
      if (depth === 0) return false;
      depth--;
    } else if (depth > 0) continue;
    else if (c === ';' || c === '&' || c === '\n') return false;
    else if (c === '|') {
      if (code[i + 1] === '|') return false;
      const next = /^\s*(?:[A-Za-z_]\w*=\S*\s+)*([^\s;&|()]+)/.exec(code.slice(i + 1));
      if (DIGESTS.test(next?.[1]?.split('/').pop() ?? '')) return true;
    }
  }
  return false;
}
