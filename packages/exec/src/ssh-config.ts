import { UsageError } from '@opsbook/schema';
import { flattenIncludes } from './ssh-config-include.js';
import type { SshConfigSource } from './ssh-config-source.js';

/**
 * What opsbook takes from `~/.ssh/config` for one host alias (root README, Inventory and
 * configuration).
 */
export interface SshHostConfig {
  alias: string;
  hostName: string;
  port: number;
  user: string;
  identityFiles: string[];
  /** Jump hosts in order (ProxyJump), each resolved through the config again when connecting. */
  proxyJump: JumpHost[];
  /** The fields the config set (rather than OpenSSH's defaults): port 22 and the local user are not. */
  setByConfig: Array<'port' | 'user'>;
}

export interface JumpHost {
  user?: string;
  host: string;
  port?: number;
}

export interface SshConfigEnvironment {
  homeDir: string;
  localUser: string;
}

/**
 * Resolves `alias` the way OpenSSH does: Host/Match sections in file order, the FIRST value of a
 * keyword wins, IdentityFile accumulates, Include splices its files in where it stands (inside a
 * Host/Match block only when that block applies). Parsing and matching are the `ssh-config`
 * package's; `Match exec` is never run (a config file must not execute commands on our behalf).
 * Text given as a string has no included files loaded (`loadSshConfig` reads them): an Include
 * in it is refused.
 */
export function resolveSshConfig(
  config: string | SshConfigSource | undefined,
  alias: string,
  env: SshConfigEnvironment,
): SshHostConfig {
  const source =
    typeof config === 'string' ? { file: '(text)', text: config, includes: {} } : config;
  if (source?.problem) throw new UsageError(source.problem);
  const computed = source
    ? flattenIncludes(source, alias).compute(alias, { matchExec: false })
    : {};
  const first = (key: string): string | undefined => {
    const value = computed[key];
    return Array.isArray(value) ? value[0] : value;
  };
  const user = first('User') ?? env.localUser;
  const hostName = expandTokens(first('HostName') ?? alias, { ...env, host: alias, user });
  const portText = first('Port');
  const port = portText === undefined ? 22 : parsePort(portText, `Port of Host ${alias}`);
  const identity = computed.IdentityFile;
  const identityFiles = (Array.isArray(identity) ? identity : identity ? [identity] : []).map((f) =>
    expandTokens(f, { ...env, host: hostName, user }),
  );
  const jump = first('ProxyJump');
  return {
    alias,
    hostName,
    port,
    user,
    identityFiles,
    proxyJump: jump ? parseProxyJump(jump) : [],
    setByConfig: [
      ...(portText !== undefined ? (['port'] as const) : []),
      ...(first('User') !== undefined ? (['user'] as const) : []),
    ],
  };
}

/** `[user@]host[:port]` or `ssh://[user@]host[:port]`, comma-separated; `none` means no jump. */
export function parseProxyJump(value: string): JumpHost[] {
  if (value.trim().toLowerCase() === 'none') return [];
  return value.split(',').map((spec) => {
    const text = spec.trim().replace(/^ssh:\/\//, '');
    const match = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:@]+)(?::(\d+))?$/.exec(text);
    if (!match?.[2])
      throw new UsageError(`ProxyJump '${spec}' is not [user@]host[:port]: fix the ssh config`);
    const host = match[2].replace(/^\[(.*)\]$/, '$1');
    return {
      ...(match[1] ? { user: match[1] } : {}),
      host,
      ...(match[3] ? { port: parsePort(match[3], `ProxyJump ${spec}`) } : {}),
    };
  });
}

function parsePort(text: string, what: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`${what} is '${text}', not a port number (1-65535): fix the ssh config`);
  }
  return port;
}

/** The tokens of ssh_config(5) that matter for HostName and IdentityFile. */
function expandTokens(
  value: string,
  t: SshConfigEnvironment & { host: string; user: string },
): string {
  const withHome = value.startsWith('~/') ? `${t.homeDir}${value.slice(1)}` : value;
  return withHome.replace(/%([%dhru])/g, (_, token: string) => {
    switch (token) {
      case 'd':
        return t.homeDir;
      case 'h':
        return t.host;
      case 'r':
        return t.user;
      case 'u':
        return t.localUser;
      default:
        return '%';
    }
  });
}
