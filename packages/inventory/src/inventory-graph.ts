import type { Problem } from '@opsbook/schema';
import type {
  Inventory,
  InventoryGroup,
  InventoryHost,
  SourceLocation,
  Vars,
} from './inventory.js';
import { resolveHostVars } from './resolve-host-vars.js';
import { setOwn } from './set-own.js';
import { guardUnreadVaultFiles, valueForMessage } from './vault-values.js';

interface VarLayer {
  vars: Vars;
  origins: Record<string, SourceLocation>;
  /** Vault files of this layer left unread (no password). */
  unread?: string[];
}

interface GroupNode {
  name: string;
  hosts: string[];
  children: string[];
  parents: string[];
  priority: number;
  /** Vars written in the inventory file, then vars from group_vars/: Ansible ranks them apart. */
  fileVars: VarLayer;
  dirVars: VarLayer;
}

interface HostNode {
  name: string;
  groups: string[];
  declaredAt: SourceLocation;
  fileVars: VarLayer;
  dirVars: VarLayer;
}

const emptyLayer = (): VarLayer => ({ vars: {}, origins: {} });

function problemAt(at: SourceLocation, rule: string, message: string): Problem {
  return { file: at.file, line: at.line, col: at.col, rule, message };
}

/**
 * The groups, hosts and variables declared by an inventory, built the way Ansible's
 * InventoryData builds them (same implicit `all`/`ungrouped`, same precedence), so that an
 * inventory means the same thing to opsbook and to `ansible-inventory`.
 */
export class InventoryGraph {
  private readonly groups = new Map<string, GroupNode>();
  private readonly hosts = new Map<string, HostNode>();

  constructor() {
    this.addGroup('all');
    this.addGroup('ungrouped');
    this.groups.get('all')!.children.push('ungrouped');
    this.groups.get('ungrouped')!.parents.push('all');
  }

  hasGroup(name: string): boolean {
    return this.groups.has(name);
  }

  hasHost(name: string): boolean {
    return this.hosts.has(name);
  }

  groupNames(): string[] {
    return [...this.groups.keys()];
  }

  hostNames(): string[] {
    return [...this.hosts.keys()];
  }

  addGroup(name: string): void {
    if (this.groups.has(name)) return;
    this.groups.set(name, {
      name,
      hosts: [],
      children: [],
      parents: [],
      priority: 1,
      fileVars: emptyLayer(),
      dirVars: emptyLayer(),
    });
  }

  /** Declare a host in a group; a port written as `host:port` becomes its first `ansible_port`. */
  addHost(name: string, group: string, at: SourceLocation, port?: number): void {
    let host = this.hosts.get(name);
    if (!host) {
      host = { name, groups: [], declaredAt: at, fileVars: emptyLayer(), dirVars: emptyLayer() };
      this.hosts.set(name, host);
      // As Ansible: the port only counts where the host is first declared.
      if (port !== undefined) this.setHostVar(name, 'ansible_port', port, at);
    }
    const node = this.groups.get(group)!;
    // The host's few groups, not the group's hosts (a search of 5,000 names per host): the two
    // lists are kept in step, here and in reconcile.
    if (!host.groups.includes(group)) {
      node.hosts.push(name);
      host.groups.push(group);
    }
  }

  /** Make `child` a child group of `parent`; refuses a loop. */
  addChild(parent: string, child: string, at: SourceLocation): Problem | undefined {
    const p = this.groups.get(parent)!;
    const c = this.groups.get(child)!;
    if (child === 'all') {
      return problemAt(
        at,
        'group-loop',
        `'all' holds every group and cannot be a child of '${parent}': remove it from the children of '${parent}'`,
      );
    }
    if (parent === child || this.ancestorsOf([parent]).has(child)) {
      return problemAt(
        at,
        'group-loop',
        `group '${child}' cannot be a child of '${parent}': '${parent}' is already inside '${child}', which would make a loop; remove one of the two memberships`,
      );
    }
    if (!p.children.includes(child)) p.children.push(child);
    if (!c.parents.includes(parent)) c.parents.push(parent);
    return undefined;
  }

  setGroupVar(group: string, key: string, value: unknown, at: SourceLocation): Problem | undefined {
    const node = this.groups.get(group)!;
    if (key === 'ansible_group_priority') {
      const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n)) {
        return problemAt(
          at,
          'bad-group-priority',
          `ansible_group_priority must be an integer, got ${valueForMessage(value, at)}`,
        );
      }
      node.priority = n;
      return undefined;
    }
    setVar(node.fileVars, key, value, at);
    return undefined;
  }

  setHostVar(host: string, key: string, value: unknown, at: SourceLocation): void {
    setVar(this.hosts.get(host)!.fileVars, key, value, at);
  }

  /** Vars from a group_vars/ or host_vars/ file, ranked above the inventory file's. */
  addDirVars(
    kind: 'group' | 'host',
    name: string,
    vars: Vars,
    origins: Record<string, SourceLocation>,
    unreadVaultFiles: string[] = [],
  ): void {
    const node = kind === 'group' ? this.groups.get(name) : this.hosts.get(name);
    if (!node) return;
    for (const [k, v] of Object.entries(vars)) setVar(node.dirVars, k, v, origins[k]!);
    if (unreadVaultFiles.length > 0) {
      node.dirVars.unread = [...(node.dirVars.unread ?? []), ...unreadVaultFiles];
    }
  }

  /** Ansible's reconcile step: parentless groups join `all`; hosts without a group join `ungrouped`. */
  private reconcile(): void {
    for (const g of this.groups.values()) {
      if (g.name !== 'all' && g.parents.length === 0) {
        g.parents.push('all');
        this.groups.get('all')!.children.push(g.name);
      }
    }
    const ungrouped = this.groups.get('ungrouped')!;
    const leaving = new Set<string>();
    // Hosts in the same groups are placed alike: decided once per set of groups.
    const placement = new Map<string, 'leave' | 'join' | 'stay'>();
    for (const h of this.hosts.values()) {
      const key = h.groups.join('\0');
      let place = placement.get(key);
      if (!place) {
        const mine = this.ancestorsOf(h.groups);
        for (const g of h.groups) mine.add(g);
        const others = [...mine].filter((g) => g !== 'all' && g !== 'ungrouped');
        place =
          mine.has('ungrouped') && others.length > 0
            ? 'leave'
            : !mine.has('ungrouped') && others.length === 0
              ? 'join'
              : 'stay';
        placement.set(key, place);
      }
      if (place === 'leave') {
        leaving.add(h.name);
        h.groups = h.groups.filter((g) => g !== 'ungrouped');
      } else if (place === 'join') {
        ungrouped.hosts.push(h.name);
        h.groups.push('ungrouped');
      }
    }
    if (leaving.size > 0) ungrouped.hosts = ungrouped.hosts.filter((n) => !leaving.has(n));
  }

  /** Every group above the given ones (not including them unless reachable from another). */
  private ancestorsOf(groups: readonly string[]): Set<string> {
    const seen = new Set<string>();
    const queue = groups.flatMap((g) => this.groups.get(g)?.parents ?? []);
    // Bounded: each group enters the queue's processing once.
    while (queue.length > 0) {
      const g = queue.pop()!;
      if (seen.has(g)) continue;
      seen.add(g);
      queue.push(...(this.groups.get(g)?.parents ?? []));
    }
    return seen;
  }

  /** Longest path from `all`, as Ansible's Group.depth. */
  private depths(): Map<string, number> {
    const depth = new Map<string, number>();
    const visit = (name: string): number => {
      const known = depth.get(name);
      if (known !== undefined) return known;
      const parents = this.groups.get(name)!.parents;
      const d = parents.length === 0 ? 0 : Math.max(...parents.map(visit)) + 1;
      depth.set(name, d);
      return d;
    };
    for (const name of this.groups.keys()) visit(name);
    return depth;
  }

  /** Resolve every host's variables with Ansible's default precedence and freeze the result. */
  build(sources: string[]): Inventory {
    this.reconcile();
    const depth = this.depths();
    const rank = (a: GroupNode, b: GroupNode) =>
      depth.get(a.name)! - depth.get(b.name)! ||
      a.priority - b.priority ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    const groups: InventoryGroup[] = [...this.groups.values()].map((g) => ({
      name: g.name,
      // Every host is in `all`; those declared there directly are listed in `ungrouped`, as Ansible lists them.
      hosts: g.name === 'all' ? [] : [...g.hosts],
      children: [...g.children],
      vars: { ...g.fileVars.vars, ...g.dirVars.vars },
      depth: depth.get(g.name)!,
      priority: g.priority,
    }));
    const all = this.groups.get('all')!;
    // Hosts in the same groups share everything but their own two layers: their group names,
    // and the group layers merged once (a 1,000-host inventory has one or a few memberships).
    const memberships = new Map<string, Membership>();
    const membershipOf = (h: HostNode): Membership => {
      const key = h.groups.join('\0');
      let found = memberships.get(key);
      if (!found) {
        const member = this.ancestorsOf(h.groups);
        for (const g of h.groups) member.add(g);
        member.delete('all');
        const ranked = [...member].map((n) => this.groups.get(n)!).sort(rank);
        found = membership(
          // Ansible's default VARIABLE_PRECEDENCE for inventory variables (the host's own two
          // layers, h.fileVars then h.dirVars, come last).
          [
            all.fileVars,
            ...ranked.map((g) => g.fileVars),
            all.dirVars,
            ...ranked.map((g) => g.dirVars),
          ],
          [...member].sort(),
        );
        memberships.set(key, found);
      }
      return found;
    };
    const hosts: InventoryHost[] = [...this.hosts.values()].map((h) => {
      const shared = membershipOf(h);
      const groupNames = [...shared.groupNames];
      // The host's own copy: the shared group layer, then its own two layers.
      const merged = mergeLayers([shared.merged, h.fileVars, h.dirVars]);
      // Only a vault file left unread needs the layers themselves (what it may shadow, and where).
      const hasUnread =
        shared.unread.length > 0 || h.fileVars.unread?.length || h.dirVars.unread?.length;
      const layers = hasUnread ? [...shared.layers, h.fileVars, h.dirVars] : undefined;
      const unread = layers ? [...new Set(layers.flatMap((l) => l.unread ?? []))] : [];
      const resolved = resolveHostVars({
        host: h.name,
        groups: groupNames,
        vars: merged.vars,
        origins: merged.origins,
        ...(layers
          ? { shadowed: shadowedByUnreadVault(layers, winnersOf(layers), merged.origins) }
          : {}),
        unread,
      });
      return {
        name: h.name,
        vars:
          unread.length > 0 ? guardUnreadVaultFiles(h.name, resolved.vars, unread) : resolved.vars,
        varOrigins: resolved.origins,
        groups: groupNames,
        declaredAt: h.declaredAt,
        ...(unread.length > 0 ? { unreadVaultFiles: unread } : {}),
      };
    });
    return { sources, hosts, groups };
  }
}

/** What the hosts of one set of groups share (see `build`). */
interface Membership {
  /** The group layers, lowest precedence first. */
  layers: VarLayer[];
  /** Those layers merged, as `setVar` merges them one after the other. */
  merged: VarLayer;
  groupNames: string[];
  /** Vault files of those layers left unread. */
  unread: string[];
}

function membership(layers: VarLayer[], groupNames: string[]): Membership {
  const unread = layers.flatMap((l) => l.unread ?? []);
  return { layers, merged: mergeLayers(layers), groupNames, unread };
}

/** One new layer: the given ones applied in order, the later winning (`setVar` keeps `__proto__`). */
function mergeLayers(layers: readonly VarLayer[]): VarLayer {
  const merged = emptyLayer();
  for (const layer of layers) {
    for (const k of Object.keys(layer.vars)) setVar(merged, k, layer.vars[k], layer.origins[k]!);
  }
  return merged;
}

/** Each variable's last layer (the one whose value wins). */
function winnersOf(layers: VarLayer[]): Map<string, number> {
  const winner = new Map<string, number>();
  for (const [i, layer] of layers.entries()) {
    for (const k of Object.keys(layer.vars)) winner.set(k, i);
  }
  return winner;
}

/**
 * Variables whose value an unread vault file could override (it ranks above the file that set
 * them, or comes after it in the same folder): their value is not known without the password.
 */
function shadowedByUnreadVault(
  layers: VarLayer[],
  winner: Map<string, number>,
  origins: Record<string, SourceLocation>,
): Map<string, string[]> {
  const shadowed = new Map<string, string[]>();
  if (!layers.some((l) => l.unread?.length)) return shadowed;
  for (const [name, at] of winner) {
    const files = layers.flatMap((l, i) =>
      (l.unread ?? []).filter((f) => i > at || (i === at && f > origins[name]!.file)),
    );
    if (files.length > 0) shadowed.set(name, files);
  }
  return shadowed;
}

/** `setOwn`, not plain assignment: a variable named `__proto__` must stay a variable. */
function setVar(layer: VarLayer, key: string, value: unknown, at: SourceLocation): void {
  setOwn(layer.vars, key, value);
  setOwn(layer.origins, key, at);
}
