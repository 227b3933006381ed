import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectory, type Problem, storageErrorOf } from '@opsbook/schema';
import { checkKnownHostsOwner } from './known-hosts-owner.js';

/**
 * OpenSSH known_hosts (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"), parsed as data so that the
 * decision "do we trust this host key" is a pure function that tests can drive line by line.
 */
export interface KnownHostEntry {
  /** 1-based line in the file. */
  line: number;
  marker?: 'revoked' | 'cert-authority';
  /** Comma-separated patterns of a plain entry (`host`, `[host]:port`, `*.example`, `!bad`). */
  patterns?: string[];
  /** A hashed entry (`|1|salt|hash`, HashKnownHosts yes). */
  hashed?: { salt: Buffer; hash: Buffer };
  keyType: string;
  keyBlob: Buffer;
}

export interface KnownHosts {
  file: string;
  entries: KnownHostEntry[];
  /** Lines that could not be used (malformed, unsupported); OpenSSH skips them too. */
  problems: Problem[];
}

export type HostKeyVerdict =
  | { status: 'match'; fingerprint: string; line: number }
  | { status: 'unknown'; fingerprint: string }
  /**
   * No plain entry names the host but `@cert-authority` lines do: the host should prove itself
   * with a certificate, which ssh2 cannot ask for (it offers no `*-cert-v01@openssh.com` host key
   * algorithm), so the plain key it got can be neither trusted nor added.
   */
  | { status: 'cert-authority'; fingerprint: string; lines: number[] }
  | { status: 'changed'; fingerprint: string; knownFingerprints: string[]; lines: number[] }
  | { status: 'revoked'; fingerprint: string; line: number };

export function parseKnownHosts(text: string, file = 'known_hosts'): KnownHosts {
  const entries: KnownHostEntry[] = [];
  const problems: Problem[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const lineText = raw.trim();
    if (lineText === '' || lineText.startsWith('#')) continue;
    const parsed = parseLine(lineText, index + 1);
    if ('problem' in parsed)
      problems.push({ file, line: index + 1, col: 1, message: parsed.problem, rule: parsed.rule });
    else entries.push(parsed);
  }
  return { file, entries, problems };
}

function parseLine(text: string, line: number): KnownHostEntry | { problem: string; rule: string } {
  const fields = text.split(/[ \t]+/);
  let marker: KnownHostEntry['marker'];
  if (fields[0]?.startsWith('@')) {
    const name = fields.shift();
    if (name !== '@revoked' && name !== '@cert-authority') {
      return {
        problem: `unknown marker ${name}: only @revoked and @cert-authority exist`,
        rule: 'known-hosts-marker',
      };
    }
    marker = name === '@revoked' ? 'revoked' : 'cert-authority';
  }
  const [hosts, keyType, base64] = fields;
  if (!hosts || !keyType || !base64) {
    return {
      problem: 'expected "[marker] hosts key-type base64-key [comment]"',
      rule: 'known-hosts-syntax',
    };
  }
  const keyBlob = Buffer.from(base64, 'base64');
  if (keyBlob.length === 0 || keyTypeOfBlob(keyBlob) !== keyType) {
    return {
      problem: `the ${keyType} key is not valid base64 of a key of that type`,
      rule: 'known-hosts-key',
    };
  }
  if (hosts.startsWith('|')) {
    const [, magic, salt, hash] = hosts.split('|');
    if (magic !== '1' || !salt || !hash) {
      return { problem: 'hashed host must be |1|salt|hash', rule: 'known-hosts-hash' };
    }
    return {
      line,
      ...(marker ? { marker } : {}),
      hashed: { salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') },
      keyType,
      keyBlob,
    };
  }
  return { line, ...(marker ? { marker } : {}), patterns: hosts.split(','), keyType, keyBlob };
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
}

/** OpenSSH's SHA256 fingerprint of a key blob (`SHA256:` + unpadded base64). */
export function hostKeyFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH wire-format key blob (its first string). */
export function keyTypeOfBlob(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return '';
  const length = keyBlob.readUInt32BE(0);
  if (length > 64 || 4 + length > keyBlob.length) return '';
  return keyBlob.subarray(4, 4 + length).toString('latin1');
}

/**
 * Decides whether `keyBlob`, presented by `host:port`, is trusted:
 * - revoked: the key is listed under @revoked (on any line: a revoked key is never accepted,
 *   which is stricter than OpenSSH, who also requires the host pattern to match);
 * - match: a plain or hashed entry for this host holds exactly this key;
 * - changed: entries for this host exist but none holds this key (of any type: a server that
 *   suddenly offers another key type is treated as changed, not as new);
 * - cert-authority: only @cert-authority lines name this host (see HostKeyVerdict);
 * - unknown: no entry names this host.
 */
export function checkHostKey(
  knownHosts: KnownHosts,
  host: string,
  port: number,
  keyType: string,
  keyBlob: Buffer,
): HostKeyVerdict {
  const revoked = namingIndexOf(knownHosts).revoked.find((e) => e.keyBlob.equals(keyBlob));
  if (revoked)
    return { status: 'revoked', fingerprint: hostKeyFingerprint(keyBlob), line: revoked.line };
  const forHost = entriesNaming(knownHosts, knownHostsName(host, port)).filter(
    (e) => e.marker !== 'revoked',
  );
  const plain = forHost.filter((e) => e.marker === undefined);
  const same = plain.find((e) => e.keyType === keyType && e.keyBlob.equals(keyBlob));
  if (same) {
    // The fingerprint is for messages: every host of a run matches, and none prints it.
    let fingerprint: string | undefined;
    return {
      status: 'match',
      line: same.line,
      get fingerprint() {
        fingerprint ??= hostKeyFingerprint(keyBlob);
        return fingerprint;
      },
    };
  }
  const fingerprint = hostKeyFingerprint(keyBlob);
  if (plain.length > 0) {
    return {
      status: 'changed',
      fingerprint,
      knownFingerprints: plain.map((e) => hostKeyFingerprint(e.keyBlob)),
      lines: plain.map((e) => e.line),
    };
  }
  const authorities = forHost.filter((e) => e.marker === 'cert-authority');
  if (authorities.length > 0)
    return { status: 'cert-authority', fingerprint, lines: authorities.map((e) => e.line) };
  return { status: 'unknown', fingerprint };
}

/** Key types that known_hosts trusts for this host, so that key exchange can prefer them (as OpenSSH does). */
export function knownKeyTypes(knownHosts: KnownHosts, host: string, port: number): string[] {
  const types = entriesNaming(knownHosts, knownHostsName(host, port))
    .filter((e) => e.marker === undefined)
    .map((e) => e.keyType);
  return [...new Set(types)];
}

// A run asks twice per host (key types to prefer, then the verdict), with one parsed file for
// every host: entries whose patterns are plain names are found through an index, the others
// (hashed, globs, negations) are tried one by one, and each name is looked up once per file.
interface NamingIndex {
  literal: Map<string, KnownHostEntry[]>;
  others: KnownHostEntry[];
  byName: Map<string, KnownHostEntry[]>;
  /** The @revoked lines, checked for every host whatever they name. */
  revoked: KnownHostEntry[];
}
const namingCache = new WeakMap<KnownHosts, NamingIndex>();

function namingIndexOf(knownHosts: KnownHosts): NamingIndex {
  let index = namingCache.get(knownHosts);
  if (index) return index;
  index = {
    literal: new Map(),
    others: [],
    byName: new Map(),
    revoked: knownHosts.entries.filter((e) => e.marker === 'revoked'),
  };
  for (const entry of knownHosts.entries) {
    const patterns = entry.patterns;
    if (!patterns || patterns.some((p) => /[*?!]/.test(p))) {
      index.others.push(entry);
      continue;
    }
    for (const name of new Set(patterns.map((p) => p.toLowerCase()))) {
      const list = index.literal.get(name);
      if (list) list.push(entry);
      else index.literal.set(name, [entry]);
    }
  }
  namingCache.set(knownHosts, index);
  return index;
}

/** The entries whose patterns (or hash) name `name`, in file order. */
function entriesNaming(knownHosts: KnownHosts, name: string): KnownHostEntry[] {
  const index = namingIndexOf(knownHosts);
  let found = index.byName.get(name);
  if (!found) {
    found = [
      ...(index.literal.get(name) ?? []),
      ...index.others.filter((e) => entryMatchesHost(e, name)),
    ].sort((a, b) => a.line - b.line);
    index.byName.set(name, found);
  }
  return found;
}

function entryMatchesHost(entry: KnownHostEntry, name: string): boolean {
  if (entry.hashed) {
    const digest = createHmac('sha1', entry.hashed.salt).update(name).digest();
    return digest.length === entry.hashed.hash.length && timingSafeEqual(digest, entry.hashed.hash);
  }
  let matched = false;
  for (const pattern of entry.patterns ?? []) {
    const negated = pattern.startsWith('!');
    if (!matchesGlob(name, (negated ? pattern.slice(1) : pattern).toLowerCase())) continue;
    // As in OpenSSH's match_hostname: a matching negated pattern vetoes the whole entry.
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** OpenSSH's pattern match: `*` any run of characters, `?` exactly one; nothing else is special. */
export function matchesGlob(text: string, pattern: string): boolean {
  // Most patterns are plain names: no expression to build for them.
  if (!/[*?]/.test(pattern)) return text === pattern;
  let regex = globCache.get(pattern);
  if (!regex) {
    const source = pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) =>
      c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`,
    );
    regex = new RegExp(`^${source}$`, 's');
    globCache.set(pattern, regex);
  }
  return regex.test(text);
}

const globCache = new Map<string, RegExp>();

/** One known_hosts line for a host key; `hash: true` writes it like HashKnownHosts yes. */
export function formatKnownHostsLine(
  host: string,
  port: number,
  keyType: string,
  keyBlob: Buffer,
  options: { hash?: boolean; salt?: Buffer } = {},
): string {
  const name = knownHostsName(host, port);
  let hosts = name;
  if (options.hash) {
    const salt = options.salt ?? randomBytes(20);
    hosts = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
  }
  return `${hosts} ${keyType} ${keyBlob.toString('base64')}`;
}

/**
 * Reads a known_hosts file that is to decide which host keys are trusted: refused
 * (KNOWN_HOSTS_UNSAFE) when someone other than this user or root could write it or a folder
 * above it (`checkKnownHostsOwner`).
 */
export async function readKnownHosts(file: string): Promise<KnownHosts> {
  await checkKnownHostsOwner(file);
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return '';
    // A folder where the file should be, no permission…: named, with what to do.
    throw (
      storageErrorOf(e, {
        place: `the known_hosts file ${file}`,
        outcome: 'No host was connected to',
      }) ?? e
    );
  });
  return parseKnownHosts(text, file);
}

/**
 * Appends one line (the `--accept-new-host-keys` opt-in). The file and its folder are created
 * private when missing; a missing final newline of the existing file is repaired first.
 */
export async function appendKnownHostsLine(file: string, line: string): Promise<void> {
  await makeDirectory(path.dirname(file), { mode: 0o700 });
  const existing = await readFile(file).catch(() => Buffer.alloc(0));
  const prefix = existing.length > 0 && existing[existing.length - 1] !== 0x0a ? '\n' : '';
  await appendFile(file, `${prefix}${line}\n`, { mode: 0o600 });
}
