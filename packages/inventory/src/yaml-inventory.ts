import {
  didYouMean,
  type PathSegment,
  type Problem,
  parseYamlSource,
  type YamlSource,
} from '@opsbook/schema';
import { expandHostDeclaration, HostRangeError } from './host-range.js';
import type { SourceLocation } from './inventory.js';
import type { InventoryGraph } from './inventory-graph.js';
import { blankVaultTags, openInlineVaults, VAULTED_VALUE, type VaultKey } from './vault-values.js';
import { withYaml11Scalars } from './yaml11-scalars.js';

const sections = ['hosts', 'children', 'vars'] as const;

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

/**
 * Read an Ansible YAML inventory into the graph, as Ansible's yaml plugin does: every top-level
 * key is a group with optional `hosts`, `children` and `vars`. Where Ansible only warns and
 * skips (an unknown key, a group that is not a mapping), opsbook refuses: a skipped line is a
 * host or a variable that silently is not there.
 */
export function readYamlInventory(
  file: string,
  text: string,
  graph: InventoryGraph,
  key: VaultKey = {},
): Problem[] {
  const tags = blankVaultTags(text);
  const source = parseYamlSource(file, tags.text);
  if (source.problems.length > 0) {
    return source.problems.map((p) =>
      p.rule === 'empty-file'
        ? {
            ...p,
            message:
              'inventory file is empty: declare at least one group, e.g. all: {hosts: {web-01: {}}}',
          }
        : p,
    );
  }
  // As Ansible reads it: YAML 1.1 booleans and numbers, `!vault` values decrypted (or kept unread).
  const vaulted = new Map<string, SourceLocation>();
  const opened = openInlineVaults(
    withYaml11Scalars(source, source.value),
    source,
    tags.lines,
    key,
    vaulted,
  );
  const reader = new YamlReader({ ...source, value: opened.value }, graph, vaultedPaths(vaulted));
  return [...opened.problems, ...reader.readRoot()];
}

/**
 * The paths (joined with `.`, as openInlineVaults keys them) of the `!vault` values and of
 * everything holding one. A dotted name can make another path look like one of these: that only
 * hides more, never less.
 */
function vaultedPaths(vaulted: Map<string, SourceLocation>): Set<string> {
  const paths = new Set<string>();
  for (const path of vaulted.keys()) {
    const parts = path.split('.');
    for (let i = 1; i <= parts.length; i++) paths.add(parts.slice(0, i).join('.'));
  }
  return paths;
}

class YamlReader {
  private readonly problems: Problem[] = [];

  constructor(
    private readonly source: YamlSource,
    private readonly graph: InventoryGraph,
    private readonly vaulted: ReadonlySet<string> = new Set(),
  ) {}

  /** Whether the value at `path` is, or holds, a decrypted `!vault` value. */
  private isVaulted(path: PathSegment[]): boolean {
    return this.vaulted.size > 0 && this.vaulted.has(path.join('.'));
  }

  /** Where a variable was written, marked when its value was vaulted (messages never show it). */
  private varAt(path: PathSegment[]): SourceLocation {
    const at = this.at(path);
    return this.isVaulted(path) ? Object.assign(at, { isVaulted: true as const }) : at;
  }

  /** A value for a message: never a vaulted one. */
  private describeAt(path: PathSegment[], v: unknown): string {
    return this.isVaulted(path) ? VAULTED_VALUE : describe(v);
  }

  /**
   * Where `path` was written, worked out when first read: a file read by a fast path has no
   * positions, and asking for one parses it again with the strict, positioned parser (and
   * loads it). Every host and variable gets a location, but only a problem or an `inventory`
   * listing reads one: a run on a YAML inventory no longer parses it twice.
   */
  private at(path: PathSegment[], where: 'key' | 'value' = 'key'): SourceLocation {
    const { source } = this;
    let found: { line: number; col: number } | undefined;
    const place = () => {
      found ??= source.locate(path, where);
      return found;
    };
    return {
      file: source.file,
      get line() {
        return place().line;
      },
      get col() {
        return place().col;
      },
    };
  }

  private fail(
    path: PathSegment[],
    rule: string,
    message: string,
    where: 'key' | 'value' = 'key',
  ): void {
    this.problems.push({ ...this.at(path, where), rule, message });
  }

  readRoot(): Problem[] {
    const root = this.source.value;
    if (!isMapping(root)) {
      this.fail(
        [],
        'yaml-inventory-not-mapping',
        `a YAML inventory must be a mapping of group names, got ${describe(root)}`,
        'value',
      );
      return this.problems;
    }
    if ('plugin' in root) {
      this.fail(
        ['plugin'],
        'yaml-inventory-plugin',
        'this is an inventory plugin configuration, not an inventory: opsbook reads static YAML and INI inventories only',
      );
      return this.problems;
    }
    for (const [name, data] of Object.entries(root)) this.readGroup(name, data, [name]);
    return this.problems;
  }

  private readGroup(name: string, data: unknown, path: PathSegment[]): boolean {
    if (name === '') {
      this.fail(path, 'yaml-bad-group', 'a group name is empty: name the group');
      return false;
    }
    if (data !== null && !isMapping(data)) {
      this.fail(
        path,
        'yaml-bad-group',
        `group '${name}' must be a mapping with hosts, children and vars (or empty), got ${this.describeAt(path, data)}`,
        'value',
      );
      return false;
    }
    this.graph.addGroup(name);
    if (data === null) return true;
    for (const [key, raw] of Object.entries(data)) {
      const here = [...path, key];
      if (!(sections as readonly string[]).includes(key)) {
        const guess = didYouMean(key, sections);
        this.fail(
          here,
          'yaml-unknown-key',
          `unknown key '${key}' in group '${name}': only hosts, children and vars are allowed${guess ? ` (did you mean '${guess}'?)` : ''}`,
        );
        continue;
      }
      // As Ansible: a bare string stands for a one-entry mapping (`hosts: web-01`).
      const value = typeof raw === 'string' ? { [raw]: null } : raw;
      if (value === null) continue;
      if (!isMapping(value)) {
        this.fail(
          here,
          'yaml-bad-section',
          `'${key}' of group '${name}' must be a mapping, got ${this.describeAt(here, value)}${key === 'hosts' ? ': write each host as a key, e.g. hosts: {web-01: {}}' : ''}`,
          'value',
        );
        continue;
      }
      if (key === 'vars') this.readVars(name, value, here);
      else if (key === 'children') this.readChildren(name, value, here);
      else this.readHosts(name, value, here);
    }
    return true;
  }

  private readVars(group: string, vars: Record<string, unknown>, path: PathSegment[]): void {
    for (const [k, v] of Object.entries(vars)) {
      const problem = this.graph.setGroupVar(group, k, v, this.varAt([...path, k]));
      if (problem) this.problems.push(problem);
    }
  }

  private readChildren(
    group: string,
    children: Record<string, unknown>,
    path: PathSegment[],
  ): void {
    for (const [child, data] of Object.entries(children)) {
      if (!this.readGroup(child, data, [...path, child])) continue;
      const loop = this.graph.addChild(group, child, this.at([...path, child]));
      if (loop) this.problems.push(loop);
    }
  }

  private readHosts(group: string, hosts: Record<string, unknown>, path: PathSegment[]): void {
    for (const [declaration, vars] of Object.entries(hosts)) {
      const here = [...path, declaration];
      let expanded: { hosts: string[]; port?: number };
      try {
        expanded = expandHostDeclaration(declaration);
      } catch (e) {
        if (!(e instanceof HostRangeError)) throw e;
        this.fail(here, e.rule, e.message);
        continue;
      }
      if (vars !== null && !isMapping(vars)) {
        this.fail(
          here,
          'yaml-bad-host',
          `host '${declaration}' in group '${group}' must map to its variables (a mapping) or to nothing, got ${this.describeAt(here, vars)}`,
          'value',
        );
        continue;
      }
      const at = this.at(here);
      for (const host of expanded.hosts) {
        this.graph.addHost(host, group, at, expanded.port);
        for (const [k, v] of Object.entries(vars ?? {}))
          this.graph.setHostVar(host, k, v, this.varAt([...here, k]));
      }
    }
  }
}
