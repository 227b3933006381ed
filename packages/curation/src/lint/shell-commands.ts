import { shellContexts } from '@opsbook/schema';

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

/** `text` with quoted text as `Q` and comments as spaces (same length: offsets hold). */
function blankedCode(text: string): string {
  const contexts = shellContexts(text);
  let code = '';
  for (let i = 0; i < text.length; i++) {
    const kind = contexts.contextAt(i);
    const c = text[i]!;
    code += kind === 'code' ? c : kind === 'comment' || c === '\n' ? ' ' : 'Q';
  }
  return code.replace(/\\\n/g, '  ');
}

/**
 * Builtins whose arguments never become the argv of a process (ps and /proc show nothing):
 * the declarations, `set --` (the positional params, as promote's prologue sets them), and the
 * output and test builtins of sh (dash, bash) that a secret is piped out of
 * (`printf '%s' "$TOKEN" | login --password-stdin`).
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
]);

export interface CommandWord {
  role: 'assignment' | 'builtin-argument' | 'argument';
  command?: string;
  /** The word starts at `offset` (nothing of it before). */
  startsWord?: boolean;
  /** A `--` word comes earlier in the command: what follows is never an option. */
  afterDoubleDash?: boolean;
  /** The word before it in the command (the command name for the first argument). */
  previous?: string;
}

/**
 * How the shell uses the word at `offset`: an assignment word (`PGPASSWORD=…` before a command,
 * or a command of assignments only: the environment or a variable), an argument of a builtin
 * that starts no process, or an argument (or the name) of a command, which a process gets in its
 * argv. Undefined where it is not in a command word (a keyword, a quoted or commented spot).
 */
export function commandWordAt(text: string, offset: number): CommandWord | undefined {
  const code = blankedCode(text);
  let start = 0;
  for (const piece of code.split(COMMAND_BOUNDARY)) {
    const end = start + piece.length;
    if (offset >= start && offset < end && !COMMAND_BOUNDARY.test(piece)) {
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
      let name = w;
      while (name < words.length && /^[A-Za-z_]\w*=/.test(words[name]!.word)) name++;
      if (target < name) return { role: 'assignment' };
      const command = words[name]!.word;
      const known = /[$Q]/.test(command) ? {} : { command };
      const place = {
        startsWord: words[target]?.at === offset,
        afterDoubleDash: words
          .slice(name + 1, Math.max(target, name + 1))
          .some((x) => x.word === '--'),
        ...(target > name ? { previous: words[target - 1]!.word } : {}),
      };
      return ARGV_FREE_BUILTINS.has(command) && target > name
        ? { role: 'builtin-argument', ...known, ...place }
        : { role: 'argument', ...known, ...place };
    }
    start = end;
  }
  return undefined;
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
  for (const piece of code.split(COMMAND_BOUNDARY)) {
    if (!COMMAND_BOUNDARY.test(piece)) {
      const all = [...piece.matchAll(/\S+/g)].map((m) => ({
        word: text.slice(start + m.index, start + m.index + m[0].length),
        at: start + m.index,
        end: start + m.index + m[0].length,
      }));
      let w = 0;
      while (w < all.length && KEYWORDS.has(all[w]!.word)) w++;
      const words = all.slice(w);
      let name = 0;
      while (name < words.length && /^[A-Za-z_]\w*=/.test(words[name]!.word)) name++;
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
