import { readdir, readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import SSHConfig from 'ssh-config';

/**
 * A user's ssh config file with every file it `Include`s, read once (the only I/O of ssh config
 * handling) so that resolving a host stays a pure function of this data.
 */
export interface SshConfigSource {
  /** Absolute path of this file (`(text)` for text given without a file). */
  file: string;
  text: string;
  /** The files each Include directive of this file named, by the directive's value as written, in load order. */
  includes: Record<string, SshConfigSource[]>;
  /**
   * Set on the top file when an Include could not be followed (a loop, too deep, unreadable):
   * resolving any host then fails with it, as OpenSSH refuses such a config for every host.
   */
  problem?: string;
}

/** OpenSSH's READCONF_MAX_DEPTH: Include nested deeper than this is refused. */
export const MAX_INCLUDE_DEPTH = 16;

export interface ReadSshConfigOptions {
  /** Where relative Include paths and `~` point: `<homeDir>/.ssh`, `<homeDir>`. Default: the file's grandparent folder. */
  homeDir?: string;
}

/**
 * Reads an ssh config file as text only, without the files it includes: `resolveSshConfig`
 * refuses an Include in it. Kept for callers not yet moved to `loadSshConfig`.
 * @deprecated use `loadSshConfig`, which follows Include.
 */
export async function readSshConfigFile(file: string): Promise<string | undefined> {
  return readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
}

/**
 * Reads an ssh config file and what it includes (ssh_config(5) Include: several paths, glob
 * wildcards `*` `?` `[…]` in lexical order, `~/`, relative paths under ~/.ssh; a pattern that
 * matches nothing is skipped). A missing top file is an empty config, as for OpenSSH.
 */
export async function loadSshConfig(
  file: string,
  options: ReadSshConfigOptions = {},
): Promise<SshConfigSource | undefined> {
  const text = await readText(file);
  if (text === undefined) return undefined;
  const homeDir = options.homeDir ?? path.dirname(path.dirname(path.resolve(file)));
  const top: SshConfigSource = { file: path.resolve(file), text, includes: {} };
  try {
    await loadIncludes(top, homeDir, [await realpath(file)]);
  } catch (e) {
    if (!(e instanceof IncludeProblem)) throw e;
    top.problem = e.message;
  }
  return top;
}

class IncludeProblem extends Error {}

async function loadIncludes(source: SshConfigSource, homeDir: string, chain: string[]) {
  for (const value of includeValues(source.text)) {
    const key = value.join(' ');
    if (Object.hasOwn(source.includes, key)) continue;
    const loaded: SshConfigSource[] = [];
    for (const pattern of value) {
      for (const file of await expandPattern(pattern, homeDir)) {
        const real = await realpath(file).catch(() => file);
        if (chain.includes(real)) {
          throw new IncludeProblem(
            `ssh config Include loop: ${[...chain, real].join(' includes ')}: remove one of these Include lines`,
          );
        }
        if (chain.length > MAX_INCLUDE_DEPTH) {
          throw new IncludeProblem(
            `ssh config Include nested more than ${MAX_INCLUDE_DEPTH} deep (${chain.join(' → ')}): flatten the includes`,
          );
        }
        const text = await readText(file);
        if (text === undefined) continue;
        const child: SshConfigSource = { file, text, includes: {} };
        await loadIncludes(child, homeDir, [...chain, real]);
        loaded.push(child);
      }
    }
    source.includes[key] = loaded;
  }
}

/** The path lists of every Include directive of a file, top level and inside Host/Match blocks. */
function includeValues(text: string): string[][] {
  const found: string[][] = [];
  const visit = (lines: SSHConfig) => {
    for (const line of lines) {
      if (line.type !== SSHConfig.DIRECTIVE) continue;
      if (/^include$/i.test(line.param)) found.push(directiveWords(line.value));
      if ('config' in line) visit(line.config);
    }
  };
  visit(SSHConfig.parse(text));
  return found;
}

export function directiveWords(value: string | { val: string }[]): string[] {
  return typeof value === 'string' ? value.split(/\s+/).filter(Boolean) : value.map((v) => v.val);
}

async function readText(file: string): Promise<string | undefined> {
  return readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    // ENOENT: missing, as OpenSSH; EISDIR: a glob such as config.d/* that matched a folder.
    if (e.code === 'ENOENT' || e.code === 'EISDIR') return undefined;
    if (e.code === 'EACCES')
      throw new IncludeProblem(
        `ssh config ${file} cannot be read (${e.code}): fix its permissions`,
      );
    throw e;
  });
}

/** One Include path, `~`-expanded, made absolute under ~/.ssh, glob-expanded in lexical order. */
async function expandPattern(pattern: string, homeDir: string): Promise<string[]> {
  const expanded = pattern.startsWith('~/') ? path.join(homeDir, pattern.slice(2)) : pattern;
  const absolute = path.isAbsolute(expanded) ? expanded : path.join(homeDir, '.ssh', expanded);
  let matches = ['/'];
  for (const segment of absolute.split('/').filter(Boolean)) {
    if (!/[*?[]/.test(segment)) {
      matches = matches.map((m) => path.join(m, segment));
      continue;
    }
    const regex = globSegmentRegex(segment);
    const next: string[] = [];
    for (const dir of matches) {
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names.sort()) {
        // As glob(3): wildcards do not match a leading dot.
        if (name.startsWith('.') && !segment.startsWith('.')) continue;
        if (regex.test(name)) next.push(path.join(dir, name));
      }
    }
    matches = next;
  }
  return matches;
}

/** glob(7) for one path segment: `*`, `?`, and `[…]` / `[!…]` classes. */
export function globSegmentRegex(segment: string): RegExp {
  let out = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[' && segment.indexOf(']', i + 2) > i) {
      const end = segment.indexOf(']', i + 2);
      let body = segment.slice(i + 1, end);
      const negated = body.startsWith('!');
      if (negated) body = body.slice(1);
      out += `[${negated ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else out += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, 's');
}
