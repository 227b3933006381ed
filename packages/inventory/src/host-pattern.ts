import { didYouMean, type ValidationError } from '@opsbook/schema';
import { type InventoryErrorCode, inventoryErrors } from './error-codes.js';
import { parseHostAddress } from './host-range.js';
import type { Inventory, InventoryGroup, InventoryHost } from './inventory.js';

export const HOST_PATTERN_NO_MATCH =
  'HOST_PATTERN_NO_MATCH' satisfies InventoryErrorCode<'invalid'>;
export const HOST_PATTERN_INVALID = 'HOST_PATTERN_INVALID' satisfies InventoryErrorCode<'invalid'>;

const withSubscript = /^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$/s;
const colonSeparated = /(?:[^\s:[\]]|\[[^\]]*\])+/g;

/**
 * Split a pattern into its parts as Ansible's split_host_pattern does: by commas when there
 * are any, else by colons, except that a single address or range (`web[1:3]`, `::1`) stays whole.
 * Where Ansible silently drops what no part can hold (an unclosed `[`, a stray `]`, a space
 * between two parts), this refuses the pattern: dropping `[` made `~[` the regex `~`, which
 * matches every host, and a pattern must never select more than it says.
 */
export function splitHostPattern(pattern: string): string[] {
  let parts: string[];
  if (pattern.includes(',')) parts = pattern.split(',');
  else if (parseHostAddress(pattern)) parts = [pattern];
  else parts = splitByColons(pattern);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/** The parts between colons; every character outside them must be a colon or a space by one. */
function splitByColons(pattern: string): string[] {
  const parts: string[] = [];
  let end = 0;
  for (const m of pattern.matchAll(colonSeparated)) {
    checkBetweenParts(pattern, end, m.index, parts.length > 0);
    parts.push(m[0]);
    end = m.index + m[0].length;
  }
  checkBetweenParts(pattern, end, pattern.length, false);
  return parts;
}

function checkBetweenParts(pattern: string, from: number, to: number, needsColon: boolean): void {
  const gap = pattern.slice(from, to);
  const stray = /[^\s:]/.exec(gap) ?? (needsColon && !gap.includes(':') ? /\s/.exec(gap) : null);
  if (!stray) return;
  throw patternError(
    pattern,
    `'${stray[0]}' at column ${from + stray.index + 1} belongs to no group, host, range or ~regex, and a part cut short could select more hosts than meant: close each '[' (web[0:2]) and separate parts with ':' or ','`,
    HOST_PATTERN_INVALID,
  );
}

/** Unions first, then intersections (`&`), then exclusions (`!`); `all` when only the last two. */
export function orderHostPatterns(parts: readonly string[]): string[] {
  const regular = parts.filter((p) => p[0] !== '&' && p[0] !== '!');
  const and = parts.filter((p) => p[0] === '&');
  const not = parts.filter((p) => p[0] === '!');
  return [...(regular.length > 0 ? regular : ['all']), ...and, ...not];
}

function patternError(
  pattern: string,
  message: string,
  code: InventoryErrorCode<'invalid'>,
): ValidationError {
  return new inventoryErrors.ValidationError(
    [{ file: `host pattern '${pattern}'`, line: 0, col: 0, rule: code.toLowerCase(), message }],
    code,
  );
}

/** Python's fnmatch.translate: `*`, `?`, `[seq]`, `[!seq]`, everything else literal. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  let i = 0;
  while (i < glob.length) {
    const c = glob[i++]!;
    if (c === '*') out += out.endsWith('.*') ? '' : '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      let j = i;
      if (glob[j] === '!') j++;
      if (glob[j] === ']') j++;
      while (j < glob.length && glob[j] !== ']') j++;
      if (j >= glob.length) {
        out += '\\[';
        continue;
      }
      let stuff = glob.slice(i, j).replace(/\\/g, '\\\\');
      i = j + 1;
      if (stuff === '') out += '(?!)';
      else if (stuff === '!') out += '.';
      else {
        if (stuff[0] === '!') stuff = `^${stuff.slice(1)}`;
        else if (stuff[0] === '^' || stuff[0] === '[') stuff = `\\${stuff}`;
        out += `[${stuff}]`;
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^(?:${out})$`, 's');
}

/** A `~regex` is matched from the start of the name only, as Python's re.match. */
function compileMatcher(expr: string, whole: string): RegExp {
  if (!expr.startsWith('~')) return globToRegExp(expr);
  try {
    return new RegExp(`^(?:${expr.slice(1)})`);
  } catch (e) {
    throw patternError(
      whole,
      `'${expr}' is not a valid regular expression: ${(e as Error).message}`,
      HOST_PATTERN_INVALID,
    );
  }
}

class PatternEvaluator {
  private readonly groups: Map<string, InventoryGroup>;
  private readonly hostNames: string[];

  constructor(
    inventory: Inventory,
    private readonly whole: string,
  ) {
    this.groups = new Map(inventory.groups.map((g) => [g.name, g]));
    this.hostNames = inventory.hosts.map((h) => h.name);
  }

  /** Hosts of a group and of every group below it, breadth first, as Ansible's Group.get_hosts. */
  private hostsOfGroup(name: string): string[] {
    const order = [name];
    for (let i = 0; i < order.length; i++) {
      for (const child of this.groups.get(order[i]!)?.children ?? []) {
        if (!order.includes(child)) order.push(child);
      }
    }
    return [...new Set(order.flatMap((g) => this.groups.get(g)?.hosts ?? []))];
  }

  /** One part without its `&`/`!`: group names first, then host names for globs and regexes. */
  matchOne(part: string): string[] {
    const bare = part[0] === '&' || part[0] === '!' ? part.slice(1) : part;
    const sub = bare[0] === '~' ? undefined : withSubscript.exec(bare);
    const expr = sub ? sub[1]! : bare;
    const matcher = compileMatcher(expr, this.whole);
    const groupHits = [...this.groups.keys()].filter((g) => matcher.test(g));
    const found = groupHits.flatMap((g) => this.hostsOfGroup(g));
    if (groupHits.length === 0 || expr[0] === '~' || /[.?*[]/.test(expr)) {
      found.push(...this.hostNames.filter((h) => matcher.test(h)));
    }
    if (!sub || found.length === 0) return found;
    if (sub[2] !== undefined) {
      const idx = Number(sub[2]);
      const host = found.at(idx);
      if (host === undefined || idx >= found.length) {
        throw patternError(
          this.whole,
          `'${bare}' asks for host number ${idx}, but '${expr}' matches only ${found.length} host(s) (numbered from 0)`,
          HOST_PATTERN_NO_MATCH,
        );
      }
      return [host];
    }
    const start = Number(sub[3]);
    const end = sub[5] === '' ? found.length - 1 : Number(sub[5]);
    // Python treats an end of 0 as "no end": web[2:0] is just web[2].
    return end === 0 ? found.slice(start, start + 1) : found.slice(start, end + 1);
  }
}

/**
 * The hosts an Ansible host pattern selects (`all`, `*`, `web:db`, `web:&prod`, `web:!web-03`,
 * `web-*`, `~web-0[12]`, `web[0]`, `web[1:3]`), in Ansible's order (as `ansible --list-hosts`). Every part of the pattern
 * must match at least one host: a misspelt exclusion must not widen a run.
 */
export function selectHosts(inventory: Inventory, pattern: string): InventoryHost[] {
  const evaluator = new PatternEvaluator(inventory, pattern);
  const byName = new Map(inventory.hosts.map((h, i) => [h.name, i]));
  const unmatched: string[] = [];
  let selected = new Set<string>();
  const parts = splitHostPattern(pattern);
  if (parts.length === 0)
    throw patternError(
      pattern,
      'the host pattern is empty: give a group, a host or a pattern such as web:&prod',
      HOST_PATTERN_INVALID,
    );
  for (const part of orderHostPatterns(parts)) {
    const hits = new Set(byName.has(part) ? [part] : evaluator.matchOne(part));
    if (hits.size === 0) unmatched.push(part.replace(/^[&!]/, ''));
    if (part[0] === '!') selected = new Set([...selected].filter((h) => !hits.has(h)));
    else if (part[0] === '&') selected = new Set([...selected].filter((h) => hits.has(h)));
    else for (const h of hits) selected.add(h);
  }
  if (unmatched.length > 0 || selected.size === 0) throw noMatch(inventory, pattern, unmatched);
  // Ansible's order: each part's hosts in the order it enumerates them (a group's own hosts,
  // then its children's, level by level), unions appended. So `all` lists hosts reached only
  // through :children after the others, and a plan's order is ansible-playbook's order.
  return [...selected].map((n) => inventory.hosts[byName.get(n)!]!);
}

function noMatch(inventory: Inventory, pattern: string, unmatched: string[]): ValidationError {
  const groups = inventory.groups.map((g) => g.name);
  const names = [...groups, ...inventory.hosts.map((h) => h.name)];
  const reasons = unmatched.map((u) => {
    const guess = didYouMean(u, names);
    return `'${u}' matches no group or host${guess ? ` (did you mean '${guess}'?)` : ''}`;
  });
  const why =
    reasons.length > 0
      ? `${reasons.join('; ')}; every part of a pattern must match a host, so that a misspelt exclusion cannot widen a run`
      : 'selects no host: its parts leave no host in common';
  return patternError(pattern, `${why}. Known groups: ${groups.join(', ')}`, HOST_PATTERN_NO_MATCH);
}
