/**
 * Ansible's host declarations: `name`, `name:port`, `[v6addr]:port`, and ranges such as
 * `web[01:20].example.com`, `db-[a:c]`, `node[0:10:2]`. Ported from Ansible's
 * parsing/utils/addresses.py and expand_hostname_range so that a declaration expands to the
 * same hosts in opsbook and in Ansible.
 */

/** More hosts than any inventory line should expand to; protects against `[0:99999999]`. */
export const MAX_RANGE_HOSTS = 100_000;

const numericRange = String.raw`\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const hexRange = String.raw`\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]`;
const alnumRange = String.raw`\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const v6 = `(?:[0-9a-f]{1,4}|${hexRange})`;
const v4 = `(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|${numericRange})`;
const label = `(?:[\\p{L}\\p{N}_]|${alnumRange})(?:[\\p{L}\\p{N}_-]|${alnumRange})*(?<![_-])`;

const bracketedHostPort = /^\[(.+)\]:([0-9]+)$/;
const hostPort = /^((?:[^:[\]]|\[[^\]]*\])*):([0-9]+)$/;
const ipv4 = new RegExp(`^(?:${v4}\\.){3}${v4}$`, 'i');
const ipv6 = new RegExp(
  `^(?:(?:${v6}:){7}${v6}|(?:${v6}:){1,6}:|(?:${v6}:)(?::${v6}){1,6}|(?:${v6}:){2}(?::${v6}){1,5}|` +
    `(?:${v6}:){3}(?::${v6}){1,4}|(?:${v6}:){4}(?::${v6}){1,3}|(?:${v6}:){5}(?::${v6}){1,2}|` +
    `(?:${v6}:){6}(?::${v6})|:(?::${v6}){1,6}|${v6}?::|(?:0:){6}(?:${v6}\\.){3}${v6}|` +
    `::(?:ffff:)?(?:${v6}\\.){3}${v6}|(?:0:){5}ffff:(?:${v6}\\.){3}${v6})$`,
  'i',
);
const hostname = new RegExp(`^${label}(?:\\.${label})*$`, 'iu');
/**
 * The common names (`web01`, `db-2.example.com`): ASCII labels that `hostname` takes too (a
 * letter, digit or _ first, no _ or - last), matched without its Unicode classes and lookbehind.
 */
const asciiLabel = '(?:[a-z0-9]|[a-z0-9_][a-z0-9_-]*[a-z0-9])';
const asciiHostname = new RegExp(`^${asciiLabel}(?:\\.${asciiLabel})*$`, 'i');
// Every IPv6 form has a colon, and an IPv4 address (or range) is only digits, dots, brackets and
// colons: the two large expressions are tried, and compiled (~5 ms), only for what could match.
const mayBeIpv4 = /^[0-9.[\]:]+$/;

/** Split `host:port` the way Ansible's parse_address does; undefined when it is not an address. */
export function parseHostAddress(address: string): { host: string; port?: number } | undefined {
  let host = address;
  let port: number | undefined;
  // No colon: neither form of host:port can match (the usual host line).
  if (host.includes(':')) {
    for (const re of [bracketedHostPort, hostPort]) {
      const m = re.exec(host);
      if (m) {
        host = m[1]!;
        port = Number(m[2]);
      }
    }
  }
  const isAddress =
    (mayBeIpv4.test(host) && ipv4.test(host)) || (host.includes(':') && ipv6.test(host));
  if (!isAddress && !asciiHostname.test(host) && !hostname.test(host)) return undefined;
  return port === undefined ? { host } : { host, port };
}

/** A host declaration opsbook refuses; `rule` names the problem for the file:line message. */
export class HostRangeError extends Error {
  constructor(
    message: string,
    readonly rule: 'bad-host-range' | 'host-name-not-ascii' = 'bad-host-range',
  ) {
    super(message);
  }
}

/** Printable ASCII but the space: every character a host name may hold. */
const notPlainAscii = /[^\u0021-\u007e]/u;

/**
 * A host name reaches the senior's screen (the plan they sign, the ticket) and the engineer's:
 * one holding an invisible character (U+200B, a soft hyphen, a bidirectional mark) or a letter
 * of another script that looks like a Latin one (Cyrillic `е`) reads as another host's name,
 * or as the same host twice. Host names are plain ASCII (an internationalised name in its
 * `xn--` form); an alias's address goes in `ansible_host`.
 */
export function checkHostName(name: string): void {
  const m = notPlainAscii.exec(name);
  if (!m) return;
  const code = m[0].codePointAt(0)!;
  const shown = name.replace(new RegExp(notPlainAscii.source, 'gu'), (c) => {
    const hex = c.codePointAt(0)!.toString(16).padStart(4, '0');
    return hex.length > 4 ? `\\u{${hex}}` : `\\u${hex}`;
  });
  throw new HostRangeError(
    `host name '${shown}' holds U+${code.toString(16).toUpperCase().padStart(4, '0')}, which is not plain ASCII: a screen shows it as nothing or as a look-alike of another letter, so a reviewer could read another host's name. Name hosts with ASCII letters, digits, '.', '-' and '_' (an internationalised name in its xn-- form), and give an alias's address in ansible_host`,
    'host-name-not-ascii',
  );
}

/** A declaration split into host names and an optional port, as Ansible's _expand_hostpattern. */
export function expandHostDeclaration(declaration: string): { hosts: string[]; port?: number } {
  if (declaration.trim() === '') throw new HostRangeError('a host name is empty: name the host');
  const parsed = parseHostAddress(declaration);
  const pattern = parsed?.host ?? declaration;
  const hosts = pattern.includes('[') ? expandHostRange(pattern) : [pattern];
  for (const host of hosts) checkHostName(host);
  return parsed?.port === undefined ? { hosts } : { hosts, port: parsed.port };
}

const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Expand every `[begin:end(:step)]` in a host name, left to right, as Ansible does. */
export function expandHostRange(pattern: string): string[] {
  const out: string[] = [];
  const pending = [pattern];
  // Bounded by MAX_RANGE_HOSTS: every iteration either emits a host or splits off one range.
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (!name.includes('[')) {
      out.push(name);
      if (out.length > MAX_RANGE_HOSTS) {
        throw new HostRangeError(
          `host range '${pattern}' expands to more than ${MAX_RANGE_HOSTS} hosts: split it`,
        );
      }
      continue;
    }
    const open = name.indexOf('[');
    const close = name.indexOf(']', open);
    if (close < 0 || name.indexOf(']') < open) {
      throw new HostRangeError(
        `host range in '${pattern}' is not closed: write it as [begin:end] or [begin:end:step]`,
      );
    }
    const head = name.slice(0, open);
    const tail = name.slice(close + 1);
    const seq = rangeSequence(pattern, name.slice(open + 1, close));
    if (pending.length + out.length + seq.length > MAX_RANGE_HOSTS) {
      throw new HostRangeError(
        `host range '${pattern}' expands to more than ${MAX_RANGE_HOSTS} hosts: split it`,
      );
    }
    pending.unshift(...seq.map((s) => head + s + tail));
  }
  return out;
}

function rangeSequence(pattern: string, inner: string): string[] {
  const bounds = inner.split(':');
  const fail = (why: string) => new HostRangeError(`host range '${pattern}': ${why}`);
  if (bounds.length !== 2 && bounds.length !== 3) {
    throw fail('a range must be [begin:end] or [begin:end:step]');
  }
  const beg = bounds[0] || '0';
  const end = bounds[1]!;
  const stepText = bounds[2] ?? '1';
  if (!end) throw fail('the range has no end value');
  if (!/^[0-9]+$/.test(stepText) || Number(stepText) === 0) {
    throw fail(`the step '${stepText}' must be a positive whole number`);
  }
  const step = Number(stepText);
  const isAlpha = /^[a-zA-Z]$/.test(beg) && /^[a-zA-Z]$/.test(end);
  if (isAlpha) {
    const i = letters.indexOf(beg);
    const j = letters.indexOf(end);
    if (i > j) throw fail(`begin '${beg}' comes after end '${end}'`);
    const seq: string[] = [];
    for (let k = i; k <= j; k += step) seq.push(letters[k]!);
    return seq;
  }
  if (!/^[0-9]+$/.test(beg) || !/^[0-9]+$/.test(end)) {
    throw fail('bounds must both be numbers or both be single letters');
  }
  const width = beg.length > 1 && beg.startsWith('0') ? beg.length : 0;
  if (width > 0 && width !== end.length) {
    throw fail(
      `begin '${beg}' and end '${end}' must have the same number of digits when zero-padded`,
    );
  }
  const from = Number(beg);
  const to = Number(end);
  // Python's range() would silently give no host; an empty range is a typo, so say so.
  if (from > to) throw fail(`begin '${beg}' is greater than end '${end}'`);
  if ((to - from) / step > MAX_RANGE_HOSTS) {
    throw fail(`it expands to more than ${MAX_RANGE_HOSTS} hosts: split it`);
  }
  const seq: string[] = [];
  for (let k = from; k <= to; k += step) seq.push(String(k).padStart(width, '0'));
  return seq;
}
