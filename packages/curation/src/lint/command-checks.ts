// What the lint rules other than the secret's flow ask of a run: block's commands: the hosts it
// reaches, whether it needs root, downloads run unpinned, the runbook's files it uses.
import { shellContexts } from '@opsbook/schema';
import { type SimpleCommand, simpleCommands, simpleCommandWords } from './shell-commands.js';

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
