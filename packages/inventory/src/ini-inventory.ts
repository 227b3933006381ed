import type { Problem } from '@opsbook/schema';
import { expandHostDeclaration, HostRangeError } from './host-range.js';
import type { SourceLocation } from './inventory.js';
import type { InventoryGraph } from './inventory-graph.js';
import { evalPythonLiteral } from './python-literal.js';
import { ShlexError, shlexSplit } from './shlex-split.js';

const sectionRe = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/u;
const groupNameRe = /^([^:\]\s]+)\s*(?:#.*)?$/u;
/** Python's str.splitlines() boundaries, so that line numbers agree with Ansible's. */
const lineBreak = /\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/;

/** `skip` ignores the lines of a section that was refused, so one mistake gives one problem. */
type State = 'hosts' | 'vars' | 'children' | 'skip';

interface Pending {
  at: SourceLocation;
  state: 'vars' | 'children';
  parents: string[];
}

/**
 * Read an Ansible INI inventory into the graph, as Ansible's ini plugin does, and return every
 * malformed line (Ansible stops at the first; an operator fixing a file wants them all).
 */
export function readIniInventory(file: string, text: string, graph: InventoryGraph): Problem[] {
  const reader = new IniReader(file, graph);
  const lines = text.replace(/^\uFEFF/, '').split(lineBreak);
  for (const [i, raw] of lines.entries()) reader.readLine(raw, i + 1);
  return reader.finish();
}

class IniReader {
  private group = 'ungrouped';
  private state: State = 'hosts';
  private readonly pending = new Map<string, Pending>();
  private readonly problems: Problem[] = [];
  private at: SourceLocation = { file: '', line: 0, col: 0 };

  constructor(
    private readonly file: string,
    private readonly graph: InventoryGraph,
  ) {}

  private fail(rule: string, message: string): void {
    this.problems.push({ ...this.at, rule, message });
  }

  readLine(raw: string, line: number) {
    const text = raw.trim();
    if (!text || text.startsWith('#') || text.startsWith(';')) return;
    this.at = { file: this.file, line, col: raw.length - raw.trimStart().length + 1 };
    const section = sectionRe.exec(text);
    if (section) return this.readSection(section[1]!, section[2]);
    // A host line never starts with '[' (a range is inside a name, web[01:20]): a section header.
    if (text.startsWith('[') && !text.includes(']')) {
      const name = text.slice(1).split(/[\s#;]/)[0] ?? '';
      return this.fail(
        'ini-bad-section',
        `section '${text}' is not closed: write [${name || 'group'}]`,
      );
    }
    if (text.startsWith('[') && text.endsWith(']')) {
      return this.fail(
        'ini-bad-section',
        `invalid section '${text}': write [group], [group:vars] or [group:children], without spaces`,
      );
    }
    if (this.state === 'skip') return;
    if (this.state === 'hosts') this.readHostLine(text);
    else if (this.state === 'vars') this.readVarLine(text);
    else this.readChildLine(text);
  }

  private readSection(name: string, type: string | undefined) {
    const state = type ?? 'hosts';
    if (state !== 'hosts' && state !== 'vars' && state !== 'children') {
      this.state = 'skip';
      return this.fail(
        'ini-unknown-section-type',
        `section [${name}:${state}] has unknown type '${state}': use [${name}], [${name}:vars] or [${name}:children]`,
      );
    }
    // Names such as web-servers are kept as written: Ansible only warns about them
    // (TRANSFORM_INVALID_GROUP_CHARS defaults to 'never'), and so does `ansible-inventory`.
    this.state = state;
    this.group = name;
    if (!this.graph.hasGroup(name)) {
      if (state === 'vars' && !this.pending.has(name)) {
        this.pending.set(name, { at: this.at, state, parents: [] });
      }
      this.graph.addGroup(name);
    }
    const waiting = this.pending.get(name);
    if (waiting && state !== 'vars') {
      if (waiting.state === 'children') this.resolvePendingChild(name);
      else this.pending.delete(name);
    }
  }

  /** A child named before its own section exists: attach it (and its waiting parents) now. */
  private resolvePendingChild(name: string): void {
    const stack = [name];
    // Bounded: each pending entry is deleted when processed.
    while (stack.length > 0) {
      const group = stack.pop()!;
      const entry = this.pending.get(group);
      if (!entry) continue;
      this.pending.delete(group);
      for (const parent of entry.parents) {
        const loop = this.graph.addChild(parent, group, entry.at);
        if (loop) this.problems.push(loop);
        if (this.pending.get(parent)?.state === 'children') stack.push(parent);
      }
    }
  }

  private readHostLine(text: string) {
    let tokens: string[];
    try {
      tokens = shlexSplit(text);
    } catch (e) {
      const why = e instanceof ShlexError ? e.message : String(e);
      return this.fail(
        'ini-bad-host-line',
        `cannot read host line '${text}': ${why}; close the quote or escape it`,
      );
    }
    // Indexed loops, no destructuring: every host line of a large inventory runs this, most of
    // them before V8 has optimized it.
    const declaration = tokens[0];
    if (!declaration) return this.fail('ini-bad-host-line', `host line '${text}' names no host`);
    if (declaration.trim() === '---') {
      return this.fail(
        'ini-yaml-as-ini',
        "'---' is not a host: this looks like a YAML file; name it .yml or .yaml",
      );
    }
    let expanded: { hosts: string[]; port?: number };
    try {
      expanded = expandHostDeclaration(declaration);
    } catch (e) {
      if (e instanceof HostRangeError) return this.fail(e.rule, e.message);
      throw e;
    }
    if (declaration.trim().endsWith(':') && expanded.port === undefined) {
      return this.fail(
        'ini-bad-host-line',
        `host '${declaration}' ends in ':' but has no port: write host:port or drop the ':'`,
      );
    }
    const keys: string[] = [];
    const values: unknown[] = [];
    for (let i = 1; i < tokens.length; i++) {
      const token = tokens[i]!;
      const eq = token.indexOf('=');
      if (eq <= 0) {
        return this.fail(
          'ini-bad-host-var',
          `expected key=value after the host name, got '${token}': quote values that contain spaces, e.g. key="two words"`,
        );
      }
      const value = this.literal(token.slice(eq + 1));
      if (value === failed) return;
      keys.push(token.slice(0, eq));
      values.push(value);
    }
    for (const host of expanded.hosts) {
      this.graph.addHost(host, this.group, this.at, expanded.port);
      for (let i = 0; i < keys.length; i++)
        this.graph.setHostVar(host, keys[i]!, values[i], this.at);
    }
  }

  private readVarLine(text: string) {
    const eq = text.indexOf('=');
    const key = eq < 0 ? '' : text.slice(0, eq).trim();
    if (!key) {
      return this.fail(
        'ini-bad-var-line',
        `expected key=value in [${this.group}:vars], got '${text}'`,
      );
    }
    const value = this.literal(text.slice(eq + 1).trim());
    if (value === failed) return;
    const problem = this.graph.setGroupVar(this.group, key, value, this.at);
    if (problem) this.problems.push(problem);
  }

  private readChildLine(text: string) {
    const m = groupNameRe.exec(text);
    if (!m) {
      return this.fail(
        'ini-bad-child-line',
        `expected a group name in [${this.group}:children], got '${text}'`,
      );
    }
    const child = m[1]!;
    if (this.graph.hasGroup(child)) {
      const loop = this.graph.addChild(this.group, child, this.at);
      if (loop) this.problems.push(loop);
      return;
    }
    const waiting = this.pending.get(child);
    if (waiting) waiting.parents.push(this.group);
    else this.pending.set(child, { at: this.at, state: 'children', parents: [this.group] });
  }

  private literal(text: string): unknown {
    const result = evalPythonLiteral(text);
    if (result.kind === 'value') return result.value;
    if (result.kind === 'text') return text;
    const shown = text.length > 60 ? `${text.slice(0, 60)}…` : text;
    this.fail(
      'ini-unsupported-value',
      `value '${shown}' is not supported: ${result.reason}; quote it to keep it as text`,
    );
    return failed;
  }

  finish(): Problem[] {
    for (const [name, entry] of this.pending) {
      const message =
        entry.state === 'vars'
          ? `section [${name}:vars] is for a group that is never declared: add a [${name}] or [${name}:children] section, or fix the name`
          : `section [${entry.parents.at(-1)}:children] names group '${name}', which is never declared: add a [${name}] section, or fix the name`;
      this.problems.push({ ...entry.at, rule: 'ini-undefined-group', message });
    }
    return this.problems;
  }
}

const failed = Symbol('failed');
