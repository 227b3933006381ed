import { didYouMean, type Problem } from '@opsbook/schema';
import { type InventoryErrorCode, inventoryErrors } from './error-codes.js';
import type { InventoryHost, SourceLocation } from './inventory.js';
import { readSshArgs } from './ssh-args.js';
import { valueForMessage } from './vault-values.js';

export const CONNECTION_INVALID = 'INVENTORY_INVALID' satisfies InventoryErrorCode<'invalid'>;

/** How to reach one host, from its `ansible_*` connection variables (README: What it reads). */
export interface Connection {
  /** `ansible_host`, else the inventory name. */
  address: string;
  /**
   * `ansible_port`. Unset leaves it to the Port of ~/.ssh/config for the host, then 22, as ssh
   * does (explicit inventory values, then ssh_config, then defaults).
   */
  port?: number;
  /** `ansible_user`; undefined leaves it to ~/.ssh/config and the local user. */
  user?: string;
  /** `ansible_ssh_private_key_file` (or `ansible_private_key_file`). */
  privateKeyFile?: string;
  /** `ansible_become`, read with Ansible's boolean rules (yes/no, true/false, 1/0, on/off). */
  become: boolean;
  /** `ansible_become_user`, else root. */
  becomeUser: string;
  /** `ansible_connection`: `local` runs on this machine; ssh, smart and paramiko go over SSH. */
  transport: 'ssh' | 'local';
  /**
   * `ansible_timeout` (or `ansible_ssh_timeout`), seconds, as milliseconds: TCP connect, SSH
   * handshake and authentication. Unset leaves the transport's default (10 s).
   */
  connectTimeoutMs?: number;
  /**
   * `[user@]host[:port],…` from `-J`/`-o ProxyJump=` in `ansible_ssh_args`,
   * `ansible_ssh_common_args` or `ansible_ssh_extra_args` (first given wins, as in ssh).
   */
  proxyJump?: string;
}

/** Ansible's connection variables and the older spellings it still reads, first found wins. */
const names = {
  address: ['ansible_host', 'ansible_ssh_host'],
  port: ['ansible_port', 'ansible_ssh_port'],
  user: ['ansible_user', 'ansible_ssh_user'],
  privateKeyFile: ['ansible_ssh_private_key_file', 'ansible_private_key_file'],
  become: ['ansible_become'],
  becomeUser: ['ansible_become_user'],
  transport: ['ansible_connection'],
  connectTimeout: ['ansible_timeout', 'ansible_ssh_timeout'],
  becomeMethod: ['ansible_become_method'],
} as const;

/** Read in this order, as Ansible puts them on the ssh command line. */
const sshArgsNames = ['ansible_ssh_args', 'ansible_ssh_common_args', 'ansible_ssh_extra_args'];

/** The `ansible_` names opsbook reads, without the prefix: what a misspelt one is compared with. */
const readSuffixes = [...Object.values(names).flat(), ...sshArgsNames].map((n) =>
  n.slice('ansible_'.length),
);

/**
 * Ansible's own variables that look like one opsbook reads (a letter or two apart, or sharing its
 * start): theirs, never taken for a misspelling. Passwords are not read (keys and sudo -n only).
 */
const ansibleNames = new Set([
  'password',
  // Ansible's play keyword remote_user, often written as a host var by mistake for ansible_user:
  // not ours to refuse (and not a misspelt become_user).
  'remote_user',
  'remote_tmp',
  'ssh_pass',
  'ssh_password',
  'become_pass',
  'become_password',
  'become_exe',
  'become_flags',
  'sudo',
  'sudo_pass',
  'sudo_user',
  'su',
  'su_pass',
  'su_user',
  'ssh_executable',
  'ssh_pipelining',
  'pipelining',
  'host_key_checking',
  'ssh_host_key_checking',
  'shell_type',
  'shell_executable',
  'python_interpreter',
  'network_os',
  'scp_extra_args',
  'sftp_extra_args',
]);

/** Ansible's variables of other connection plugins (`ansible_psrp_port`, `ansible_libssh_user`…). */
const otherPlugins =
  /^(psrp|libssh|winrm|paramiko|httpapi|netconf|docker|kubectl|podman|network_cli|buildah|lxd|chroot|jail|zone|funcd|saltstack|local)_/;

/** A day: longer is a typo, and a run would wait that long for a host that is down. */
const MAX_CONNECT_TIMEOUT_S = 86_400;

const truthy = new Set(['y', 'yes', 'on', '1', 'true', 't', '1.0']);
const falsy = new Set(['n', 'no', 'off', '0', 'false', 'f', '0.0']);
const sshTransports = new Set(['ssh', 'smart', 'paramiko', 'paramiko_ssh']);

class ConnectionReader {
  readonly problems: Problem[] = [];
  constructor(private readonly host: InventoryHost) {}

  /** The variable's name and value, the first of its spellings that is set. */
  get(field: keyof typeof names): { key: string; value: unknown } | undefined {
    for (const key of names[field]) {
      if (Object.hasOwn(this.host.vars, key)) return { key, value: this.host.vars[key] };
    }
    return undefined;
  }

  fail(key: string, message: string, rule: string): undefined {
    const at: SourceLocation = this.host.varOrigins[key] ?? this.host.declaredAt;
    this.problems.push({ ...at, rule, message: `host '${this.host.name}': ${key} ${message}` });
    return undefined;
  }

  /** Text that ends up on an ssh command line: no option look-alikes, no control characters. */
  text(field: 'address' | 'user' | 'privateKeyFile' | 'becomeUser'): string | undefined {
    const got = this.get(field);
    if (!got) return undefined;
    const { key, value } = got;
    if (this.refusesVaulted(key)) return undefined;
    if (typeof value !== 'string' || value.trim() === '')
      return this.fail(
        key,
        `must be a non-empty string, got ${this.json(key, value)}`,
        'bad-connection-var',
      );
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(value))
      return this.fail(
        key,
        'contains a control character (newline, tab, NUL...): remove it',
        'bad-connection-var',
      );
    if (value.startsWith('-'))
      return this.fail(
        key,
        `${this.shown(key, value)} starts with '-', which ssh would read as an option: fix the value`,
        'bad-connection-var',
      );
    if (field !== 'privateKeyFile' && /\s/.test(value))
      return this.fail(
        key,
        `${this.shown(key, value)} contains whitespace: fix the value`,
        'bad-connection-var',
      );
    if (field === 'user' && value.includes('@'))
      return this.fail(
        key,
        `${this.shown(key, value)} contains '@': give the user alone and the address in ansible_host`,
        'bad-connection-var',
      );
    return value;
  }

  port(): number | undefined {
    const got = this.get('port');
    if (!got) return undefined;
    const { key, value } = got;
    if (this.refusesVaulted(key)) return undefined;
    const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
      this.fail(
        key,
        `must be a whole number from 1 to 65535, got ${this.json(key, value)}`,
        'bad-port',
      );
      return undefined;
    }
    return n;
  }

  become(): boolean {
    const got = this.get('become');
    if (!got) return false;
    const { key, value } = got;
    if (typeof value === 'boolean') return value;
    const word =
      typeof value === 'number'
        ? String(value)
        : typeof value === 'string'
          ? value.trim().toLowerCase()
          : undefined;
    if (word !== undefined && truthy.has(word)) return true;
    if (word !== undefined && falsy.has(word)) return false;
    this.fail(
      key,
      `must be a boolean (true/false, yes/no), got ${this.json(key, value)}`,
      'bad-become',
    );
    return false;
  }

  connectTimeoutMs(): number | undefined {
    const got = this.get('connectTimeout');
    if (!got) return undefined;
    const { key, value } = got;
    if (this.refusesVaulted(key)) return undefined;
    const n =
      typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > MAX_CONNECT_TIMEOUT_S) {
      return this.fail(
        key,
        `must be a number of seconds above 0 and at most ${MAX_CONNECT_TIMEOUT_S}, got ${this.json(key, value)}`,
        'bad-timeout',
      );
    }
    return Math.round(n * 1000);
  }

  /** ProxyJump from the ssh argument variables; every other route-changing option is refused. */
  proxyJump(): string | undefined {
    let jump: string | undefined;
    for (const key of sshArgsNames) {
      if (!Object.hasOwn(this.host.vars, key)) continue;
      const value = this.host.vars[key];
      if (typeof value !== 'string') {
        this.fail(
          key,
          `must be a string of ssh arguments, got ${this.shown(key, value)}`,
          'bad-ssh-args',
        );
        continue;
      }
      // The jump host is shown in the plan like the address; the reason quotes the arguments.
      if (this.refusesVaulted(key)) continue;
      const reading = readSshArgs(value);
      if ('refused' in reading) this.fail(key, reading.refused, 'unsupported-ssh-args');
      else jump ??= reading.proxyJump;
    }
    return jump;
  }

  /** opsbook becomes another user with `sudo -n` only: any other method is refused, never replaced. */
  becomeMethod(): void {
    const got = this.get('becomeMethod');
    if (!got || got.value === 'sudo') return;
    this.fail(
      got.key,
      `is ${this.shown(got.key, got.value)}, but opsbook becomes another user with sudo only (sudo -n): set it to sudo and allow the user passwordless sudo, or leave this host out`,
      'unsupported-become-method',
    );
  }

  /**
   * A host var a letter or two from a connection variable opsbook reads (`ansible_prot`,
   * `ansible_usr`): Ansible would ignore it as any var, and the host would be reached at port 22,
   * as the local user or at its inventory name instead, which a newcomer then debugs as a
   * refused connection. Refused at its line, naming the variable meant.
   */
  misspelt(): void {
    for (const key of Object.keys(this.host.vars)) {
      if (!key.startsWith('ansible_')) continue;
      const suffix = key.slice('ansible_'.length);
      if (readSuffixes.includes(suffix) || ansibleNames.has(suffix) || otherPlugins.test(suffix))
        continue;
      const meant = didYouMean(suffix, readSuffixes);
      if (meant === undefined) continue;
      this.fail(
        key,
        `is not a variable opsbook or Ansible reads: did you mean ansible_${meant}? (misspelt, it would be ignored and the host reached another way)`,
        'misspelt-connection-var',
      );
    }
  }

  isVaulted(key: string): boolean {
    return this.host.varOrigins[key]?.isVaulted === true;
  }

  /**
   * Refuses a vaulted connection value (true when it did): the plan the senior signs shows
   * connection values (address, port, user, key file, jump host, timeout), and the ticket and
   * the journal keep them, so a vaulted one would be written out in clear there.
   */
  refusesVaulted(key: string): boolean {
    if (!this.isVaulted(key)) return false;
    this.fail(
      key,
      '(a vaulted value) is refused: connection values are shown in the plan the senior signs, the ticket and the journal, so a vaulted one would be written out in clear there: write it unvaulted (an address, a port, a user name, a key file path or a jump host is no secret), or leave this host out',
      'vaulted-connection-var',
    );
    return true;
  }

  /** A value for a message, quoted: never a vaulted one. */
  shown(key: string, value: unknown): string {
    return valueForMessage(value, this.host.varOrigins[key], (v) => `'${String(v)}'`);
  }

  /** A value for a message, as JSON: never a vaulted one. */
  json(key: string, value: unknown): string {
    return valueForMessage(value, this.host.varOrigins[key]);
  }

  transport(): 'ssh' | 'local' {
    const got = this.get('transport');
    if (!got) return 'ssh';
    const { key, value } = got;
    if (value === 'local') return 'local';
    if (typeof value === 'string' && sshTransports.has(value)) return 'ssh';
    this.fail(
      key,
      `${this.shown(key, value)} is not a connection opsbook supports: use ssh or local`,
      'bad-connection',
    );
    return 'ssh';
  }
}

/**
 * Read a host's connection variables, validated. Throws a ValidationError pointing at the
 * file:line where each bad variable was written.
 */
export function connectionOf(host: InventoryHost): Connection {
  const reader = new ConnectionReader(host);
  const address = reader.text('address');
  const connection: Connection = {
    address: address ?? host.name,
    become: reader.become(),
    becomeUser: reader.text('becomeUser') ?? 'root',
    transport: reader.transport(),
  };
  const port = reader.port();
  if (port !== undefined) connection.port = port;
  const user = reader.text('user');
  const key = reader.text('privateKeyFile');
  if (user !== undefined) connection.user = user;
  if (key !== undefined) connection.privateKeyFile = key;
  // Only when set, so that plans (and their approved digests) without it stay byte-identical.
  const connectTimeoutMs = reader.connectTimeoutMs();
  if (connectTimeoutMs !== undefined) connection.connectTimeoutMs = connectTimeoutMs;
  const proxyJump = connection.transport === 'ssh' ? reader.proxyJump() : undefined;
  if (proxyJump !== undefined) connection.proxyJump = proxyJump;
  reader.becomeMethod();
  reader.misspelt();
  if (connection.becomeUser !== 'root')
    reader.fail(
      reader.get('becomeUser')!.key,
      `is '${connection.becomeUser}', but opsbook's sudo steps run as root (sudo -n): leave it unset or root, and become another user inside the step (sudo -n -u ${connection.becomeUser} …)`,
      'unsupported-become-user',
    );
  if (
    address === undefined &&
    !reader.get('address') &&
    host.name.startsWith('-') &&
    connection.transport === 'ssh'
  ) {
    reader.problems.push({
      ...host.declaredAt,
      rule: 'bad-connection-var',
      message: `host '${host.name}' starts with '-', which ssh would read as an option: set ansible_host or rename the host`,
    });
  }
  if (reader.problems.length > 0)
    throw new inventoryErrors.ValidationError(reader.problems, CONNECTION_INVALID);
  return connection;
}
