import { shellContexts } from '@opsbook/schema';
import { substitutions } from './command-substitutions.js';
import { hereDocuments } from './here-documents.js';

/**
 * Reading commands out of shell text for two rules. Heuristics over a lexer, not a parser; each
 * errs towards saying nothing (a rule that cries wolf gets suppressed everywhere).
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
function blankedCode(text: string): string {
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

/**
 * Where a command reaches another host: `ssh`/`sftp` always, `scp`/`rsync` when an argument
 * names a remote path (`host:/path`, `user@host:`, `rsync://`). The offset of the command name.
 */
export function remoteHops(text: string): { offset: number; command: string }[] {
  const hops: { offset: number; command: string }[] = [];
  for (const { words, name } of simpleCommandWords(text)) {
    const command = words[name];
    const program = command?.word.split('/').pop();
    if (!command || !program) continue;
    const args = words.slice(name + 1).map((w) => w.word);
    const isRemote =
      program === 'ssh' ||
      program === 'sftp' ||
      ((program === 'scp' || program === 'rsync') &&
        args.some((a) => /^(?:rsync:\/\/|(?:[\w.-]+@)?[\w.-]+:)/.test(a)));
    if (isRemote) hops.push({ offset: command.at, command: program });
  }
  return hops;
}

/** Commands that need no root for anything they do (they read what every user may read). */
const UNPRIVILEGED = new Set([
  'echo',
  'printf',
  'true',
  'false',
  'test',
  '[',
  ':',
  'uptime',
  'hostname',
  'date',
  'uname',
  'whoami',
  'id',
  'nproc',
  'free',
  'df',
  'sleep',
  'pwd',
  'basename',
  'dirname',
  'expr',
  'seq',
  'ps',
  'lsblk',
]);
/** Filters that need no root when they read a pipe, not files. */
const FILTERS = new Set([
  'grep',
  'sort',
  'uniq',
  'head',
  'tail',
  'wc',
  'cut',
  'tr',
  'awk',
  'sed',
  'column',
]);
/** systemctl's read-only subcommands. */
const SYSTEMCTL_QUERIES = new Set([
  'is-active',
  'is-enabled',
  'is-failed',
  'status',
  'show',
  'cat',
  'list-units',
  'list-unit-files',
  'list-timers',
]);

/** The commands of `text` when every one of them works without root; undefined otherwise. */
export function unprivilegedCommands(text: string): string[] | undefined {
  const commands = simpleCommands(text);
  if (!commands?.length) return undefined;
  const isUnprivileged = (c: SimpleCommand) =>
    !c.writesFile &&
    (UNPRIVILEGED.has(c.name) ||
      (c.isPiped && FILTERS.has(c.name)) ||
      (c.name === 'systemctl' && c.operand !== undefined && SYSTEMCTL_QUERIES.has(c.operand)));
  return commands.every(isUnprivileged) ? [...new Set(commands.map((c) => c.name))] : undefined;
}

/**
 * Code fetched and run in one go, unchecked: `curl … | sh`, `wget -O- … | sudo bash`,
 * `sh <(curl …)`, `sh -c "$(curl …)"`, `eval "$(wget …)"`, `. <(curl …)`. Returns the offset of
 * each match in `text`.
 */
export function unpinnedDownloads(text: string): number[] {
  const fetcher = String.raw`\b(?:curl|wget|fetch)\b`;
  const runner = String.raw`(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+(?:\S+=\S*\s+)*)?(?:\S*\/)?(?:ba|da|z|k|a)?sh\b|(?:\S*\/)?(?:python[0-9.]*|perl|ruby|node)\b`;
  // Comments say nothing; `||` is not a pipe: blank both (same length, offsets hold).
  const contexts = shellContexts(text);
  let flat = '';
  for (let i = 0; i < text.length; i++) flat += contexts.contextAt(i) === 'comment' ? ' ' : text[i];
  flat = flat.replace(/\|\|/g, '  ').replace(/\\\n/g, '  ');
  const patterns = [
    new RegExp(`${fetcher}[^;&\\n]*\\|\\s*(?:${runner})`, 'g'),
    new RegExp(`(?:${runner}|\\bsource|(?:^|\\s)\\.)\\s+<\\(\\s*${fetcher}`, 'g'),
    new RegExp(`(?:(?:${runner})\\s+-c|\\beval)\\s+["']?\\$\\(\\s*${fetcher}`, 'g'),
  ];
  const found = new Set<number>();
  for (const p of patterns) for (const m of flat.matchAll(p)) found.add(m.index);
  for (const offset of downloadedThenRun(flat, fetcher, runner)) found.add(offset);
  return [...found].sort((a, b) => a - b);
}

/**
 * `curl -o FILE URL && sh FILE`, `wget -O FILE URL; sudo bash FILE`: a download to a file, run
 * later with no sha256sum (or sha512sum, gpg --verify) check of it in between. The offset of
 * each download.
 */
function downloadedThenRun(flat: string, fetcher: string, runner: string): number[] {
  const download = new RegExp(
    `${fetcher}[^;&|\\n]*?\\s(?:-[A-Za-z]*o|--output|-O|--output-document)(?:=|\\s+)['"]?([^\\s'";&|]+)`,
    'g',
  );
  const found: number[] = [];
  for (const m of flat.matchAll(download)) {
    const file = m[1]!;
    if (file === '-') continue;
    const after = flat.slice(m.index + m[0].length);
    const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const run = new RegExp(
      `(?:${runner}|(?:^|[\\s;&|])(?:\\.|source))\\s+(?:-\\S+\\s+)*['"]?${escaped}(?![\\w./-])`,
    ).exec(after);
    if (!run) continue;
    if (/\bsha(?:256|512)sum\b|\bgpg\s+--verify\b/.test(after.slice(0, run.index))) continue;
    found.push(m.index);
  }
  return found;
}

/** A place where a script reaches for a file it expects beside itself (or in the folder it ran in). */
export interface SiblingFileUse {
  offset: number;
  length: number;
  /** The file's name when the text says it (`lib.sh`), else undefined. */
  name?: string;
  /** `script`: found through the script's own path ($0); `cwd`: a relative path it sources. */
  via: 'script' | 'cwd';
}

/**
 * Where a script finds another file through its own location (`. "$(dirname "$0")/lib.sh"`,
 * `${0%/*}`, `$BASH_SOURCE`, `realpath "$0"`) or sources a relative path (`. ./env.sh`,
 * `source ../common.sh`) before any `cd`: what a folder of scripts run by hand does. The runner
 * copies only the script a step names, alone, to a temporary folder on the host, so none of
 * those files is there. One place per line; comments and single-quoted text (awk's `$0`) say
 * nothing.
 */
export function siblingFileUses(text: string): SiblingFileUse[] {
  const contexts = shellContexts(text);
  let flat = '';
  for (let i = 0; i < text.length; i++) flat += contexts.contextAt(i) === 'comment' ? ' ' : text[i];
  const self = String.raw`(?:\$\{?0\}?|\$\{?BASH_SOURCE(?:\[0\])?\}?)`;
  const sep = String.raw`(?:^|(?<=[\s;&|(]))`;
  const name = String.raw`([^\s"';&|)\`]+)`;
  const patterns: { re: RegExp; via: SiblingFileUse['via'] }[] = [
    {
      re: new RegExp(
        `${sep}(?:\\.|source)\\s+["']?\\$\\(\\s*dirname\\s+(?:--\\s+)?["']?${self}["']?\\s*\\)["']?/${name}`,
        'gm',
      ),
      via: 'script',
    },
    {
      re: new RegExp(
        `\\b(?:dirname|realpath|readlink\\s+-[a-z]*f[a-z]*)\\s+(?:--\\s+)?["']?${self}|\\$\\{0%[^}]*\\}|\\$\\{?BASH_SOURCE\\b`,
        'g',
      ),
      via: 'script',
    },
    {
      re: new RegExp(`${sep}(?:\\.|source)\\s+["']?(\\.{1,2}/[^\\s"';&|)\`]+)`, 'gm'),
      via: 'cwd',
    },
    {
      // A script of the folder run as a command: `./step2.sh`, `sh ../other.sh`.
      re: /(?:^|(?<=[;&|(]|\b(?:then|do|else)\s))[ \t]*(?:(?:ba|da)?sh[ \t]+)?["']?(\.{1,2}\/[^\s"';&|)`]+)/gm,
      via: 'cwd',
    },
  ];
  const firstCd = /(?:^|[\s;&|(])cd(?=\s|$)/m.exec(flat);
  const byLine = new Map<number, SiblingFileUse>();
  for (const { re, via } of patterns)
    for (const m of flat.matchAll(re)) {
      if (contexts.contextAt(m.index) === 'single') continue;
      if (via === 'cwd' && firstCd && firstCd.index < m.index) continue;
      const line = flat.slice(0, m.index).split('\n').length;
      if (byLine.has(line)) continue;
      const file = m[1] ? m[1].split('/').pop() : undefined;
      // A match that starts with the blanks before its command starts at the command.
      const skip = m[0].length - m[0].trimStart().length;
      byLine.set(line, {
        offset: m.index + skip,
        length: m[0].length - skip,
        via,
        ...(file ? { name: file } : {}),
      });
    }
  return [...byLine.values()].sort((a, b) => a.offset - b.offset);
}

/**
 * What the command starting at `at` reads on stdin from a pipe: the text of the pipeline's
 * commands before it (`printf … "$T" | base64 | { read -r t; …`), up to the list's `;`, `&`
 * or line; undefined when it reads no pipe.
 */
export function pipedInto(text: string, at: number): { start: number; end: number } | undefined {
  const code = blankedCode(text).slice(0, at);
  const m = /(?<![|])\|(?:\s|[{(]|\b(?:while|until|if)\b|!)*$/.exec(code);
  if (!m) return undefined;
  // A group or a loop that pipes (`… | while …; done | xargs`): the pipeline starts before it.
  const group = groupBefore(text, m.index);
  const before = code.slice(0, group ? group.start : m.index);
  const or = before.lastIndexOf('||');
  const start = Math.max(
    before.lastIndexOf(';'),
    before.lastIndexOf('&'),
    before.lastIndexOf('\n'),
    or >= 0 ? or + 1 : -1,
  );
  return { start: start + 1, end: m.index };
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

/**
 * Whether a `read` or `mapfile` at `at` runs in a subshell of its own: a stage of a pipe, named
 * right after its `|`, not the last one, or the last one without bash's `shopt -s lastpipe`
 * (dash, and bash by default, run every stage in a subshell). What it sets is gone when the
 * stage ends. In `… | { read -r t; …; }` or `… | while read -r t` the rest of that stage sees it.
 */
export function isPipeSubshell(text: string, at: number): boolean {
  const code = blankedCode(text);
  if (!/(?<![|])\|[ \t]*$/.test(code.slice(0, at))) return false;
  const rest = /^[^;&|\n()]*(\|\|?)?/.exec(code.slice(at));
  if (rest?.[1] === '|') return true;
  return !/(?:^|[\s;&|(){}])shopt\s+(?:-\w+\s+)*-s\s+(?:\w+\s+)*lastpipe\b/.test(code);
}

/**
 * What the condition of a `while`/`until` loop starting at `at` reads on stdin when the loop's
 * input is redirected after its `done`: a here-string's word (`done <<< "$T"`) or a process
 * substitution's text (`done < <(printf … "$T")`); undefined for any other command. The loop's
 * `done` is found by counting the `do`s and `done`s that begin a command, as lint reads
 * everything: without running it.
 */
export function loopInput(text: string, at: number): { start: number; end: number } | undefined {
  const code = blankedCode(text);
  if (!/(?:^|[\s;&|(){}])(?:while|until)\s+(?:!\s+)?$/.test(code.slice(0, at))) return undefined;
  let depth = 0;
  // Only as a command's first word are they the loop's keywords (`echo done` is an argument).
  for (const m of code.slice(at).matchAll(/(?<=(?:^|[;&|(){}\n])[ \t]*)(do|done)(?![\w/.-])/g)) {
    depth += m[1] === 'do' ? 1 : -1;
    if (depth > 0) continue;
    if (depth < 0 || m[1] === 'do') return undefined;
    const after = at + m.index + m[0].length;
    const rest = code.slice(after);
    const here = /^[ \t]*\d*<<<[ \t]*(?=\S)/.exec(rest);
    if (here) {
      const start = after + here[0].length;
      const word = /^[^\s;&|()<>]+/.exec(code.slice(start));
      return word ? { start, end: start + word[0].length } : undefined;
    }
    const sub = /^[ \t]*\d*<[ \t]*<\(/.exec(rest);
    if (sub) return processSubstitutionText(code, after + sub[0].length);
    // `done < FILE`: the file's name, where its content is read.
    const file = /^([ \t]*0?<[ \t]*)(?![<(&>])([^\s;&|()<>]+)/.exec(rest);
    if (file) return { start: after + file[1]!.length, end: after + file[0].length };
    const doc = /^[ \t]*\d*(?=<<)/.exec(rest);
    const body = doc && hereDocuments(text).find((d) => d.at === after + doc[0].length);
    return body ? { start: body.bodyStart, end: body.bodyEnd } : undefined;
  }
  return undefined;
}

/**
 * What a command of `words` reads on stdin from a process substitution (`read -r x < <(printf …
 * "$T")`): the substitution's text, for each `< <(…)` among its words.
 */
export function processSubstitutionInputs(
  text: string,
  words: readonly { word: string; at: number }[],
): { start: number; end: number }[] {
  if (!words.some((w) => w.word.includes('<'))) return [];
  const code = blankedCode(text);
  return words.flatMap((w) => {
    const sub = /^\d*<[ \t]*<\(/.exec(code.slice(w.at, w.at + 64));
    const input = sub ? processSubstitutionText(code, w.at + sub[0].length) : undefined;
    return input ? [input] : [];
  });
}

/**
 * The bodies of the here-documents whose operator stands in `start`…`end` (the words of a
 * command, a pipe's commands): what those commands read on stdin.
 */
export function hereDocumentBodies(
  text: string,
  start: number,
  end: number,
): { start: number; end: number }[] {
  return hereDocuments(text)
    .filter((d) => d.at >= start && d.at < end)
    .map((d) => ({ start: d.bodyStart, end: d.bodyEnd }));
}

/**
 * When the command at `at` is inside an output process substitution (`printf … > >(xargs …)`,
 * `… | tee >(xargs …)`): the text before that `>(` on its list, whose output it reads.
 */
export function outputSubstitutionWriter(
  text: string,
  at: number,
): { start: number; end: number } | undefined {
  const code = blankedCode(text);
  const open = code.lastIndexOf('>(', at);
  if (open < 0) return undefined;
  for (let i = open + 2, nested = 1; i < at; i++) {
    if (code[i] === '(') nested++;
    else if (code[i] === ')' && --nested === 0) return undefined;
  }
  const before = code.slice(0, open);
  const start = Math.max(
    before.lastIndexOf(';'),
    before.lastIndexOf('&'),
    before.lastIndexOf('\n'),
  );
  return { start: start + 1, end: open };
}

/**
 * The compound command that ends right before `at` (where its redirections start): `{ … }`,
 * `( … )`, a loop's `… done`, `if … fi`, `case … esac`; from its first word to its end.
 */
export function groupBefore(text: string, at: number): { start: number; end: number } | undefined {
  const code = blankedCode(text);
  const before = code.slice(0, at).trimEnd();
  const end = before.length;
  const last = before[end - 1];
  if (last === '}' || last === ')') {
    const open = last === '}' ? '{' : '(';
    for (let i = end - 1, depth = 0; i >= 0; i--) {
      if (code[i] === last) depth++;
      else if (code[i] === open && --depth === 0) return { start: i, end };
    }
    return undefined;
  }
  const keyword = /(?:^|[\s;&|()])(done|fi|esac)$/.exec(before)?.[1];
  if (!keyword) return undefined;
  const opener =
    keyword === 'done' ? /^(?:while|until|for|select)$/ : keyword === 'fi' ? /^if$/ : /^case$/;
  const closer = new RegExp(`^${keyword}$`);
  // Back over the keywords that begin a command, pairing each closer with its opener.
  const words = [
    ...before.matchAll(
      /(?<=(?:^|[;&|(){}\n])[ \t]*)(while|until|for|select|if|case|done|fi|esac)(?![\w/.-])/g,
    ),
  ];
  let depth = 0;
  for (let k = words.length - 1; k >= 0; k--) {
    const word = words[k]![1]!;
    if (closer.test(word)) depth++;
    else if (opener.test(word) && --depth === 0) return { start: words[k]!.index, end };
  }
  return undefined;
}

/** The text of the process substitution `<(…)` that starts at `at`, if one does. */
export function processSubstitutionAt(
  text: string,
  at: number,
): { start: number; end: number } | undefined {
  const code = blankedCode(text);
  return code.startsWith('<(', at) ? processSubstitutionText(code, at + 2) : undefined;
}

/** The text of a `<(…)` whose content starts at `open` in `code`, up to its matching `)`. */
function processSubstitutionText(
  code: string,
  open: number,
): { start: number; end: number } | undefined {
  for (let i = open, nested = 1; i < code.length; i++) {
    if (code[i] === '(') nested++;
    else if (code[i] === ')' && --nested === 0) return { start: open, end: i };
  }
  return undefined;
}
