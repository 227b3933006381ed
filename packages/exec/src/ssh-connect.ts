import { homedir, userInfo } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { InterruptedError, type UnreachableError } from '@opsbook/schema';
import type { Client, ConnectConfig, ParsedKey } from 'ssh2';
import { checkAcceptedHostKey, rememberAcceptedHostKey } from './accepted-host-keys.js';
import { openBannerTimedSocket } from './banner-socket.js';
import { execErrors } from './error-codes.js';
import {
  appendKnownHostsLine,
  checkHostKey,
  formatKnownHostsLine,
  type HostKeyVerdict,
  keyTypeOfBlob,
  knownHostsName,
  knownKeyTypes,
} from './known-hosts.js';
import { parseProxyJump, resolveSshConfig, type SshHostConfig } from './ssh-config.js';
import type { SshConfigSource } from './ssh-config-source.js';
import { type SshFileCache, uncachedSshFiles } from './ssh-file-cache.js';
import type { AcceptedHostKey, HostRoute } from './transport.js';

/**
 * One host as the inventory describes it. OpenSSH's precedence: a field set here wins, an unset
 * one comes from ~/.ssh/config (Port, User, IdentityFile, ProxyJump; HostName for the alias),
 * then the defaults (port 22, the local user, ~/.ssh/id_*).
 */
export interface SshTarget {
  /** Inventory name: reported in errors and events; also the ssh config alias when `host` is unset. */
  name: string;
  /** Address or alias to connect to (`ansible_host`). */
  host?: string;
  /** `ansible_port`; unset leaves it to the config's Port, then 22. */
  port?: number;
  user?: string;
  /** Private key file (`ansible_ssh_private_key_file`); replaces the config's IdentityFile list. */
  identityFile?: string | undefined;
  /** `[user@]host[:port],…`; replaces the config's ProxyJump. */
  proxyJump?: string;
}

export interface SshConnectOptions {
  /** OpenSSH known_hosts file; checked strictly for every hop. */
  knownHostsFile: string;
  /**
   * The machine's known_hosts (OpenSSH's GlobalKnownHostsFile, /etc/ssh/ssh_known_hosts: root's).
   * A host it lists must present one of its keys, whatever `knownHostsFile` (the user's) says,
   * and `acceptNewHostKeys` never adds one for it: a team pins host keys there, out of reach of
   * whoever runs opsbook. Unset: not read.
   */
  globalKnownHostsFile?: string;
  /** Like StrictHostKeyChecking=accept-new: unknown keys are added; changed keys are still refused. */
  acceptNewHostKeys?: boolean;
  /** Write added lines hashed (HashKnownHosts yes). */
  hashKnownHosts?: boolean;
  /**
   * ~/.ssh/config with its Include files, read by the caller with `loadSshConfig`; undefined =
   * none. Its plain text (`readSshConfigFile`) is accepted too, but an Include in it is refused.
   */
  sshConfigText?: SshConfigSource | string;
  /**
   * The target's address is final: a `HostName` the ssh config gives it is refused (SSH_ROUTE_
   * REFUSED), not followed. A run connects only to the address its signed plan holds; the
   * runner machine's ~/.ssh/config is the engineer's, and would otherwise send an approved run
   * to another host. Jump hosts still take theirs (their host keys are checked all the same).
   */
  addressIsFinal?: boolean;
  homeDir?: string;
  localUser?: string;
  /** ssh-agent socket; pass process.env.SSH_AUTH_SOCK to use the user's agent. */
  agentSocket?: string;
  /** Passphrase for encrypted key files (OPSBOOK_KEY_PASSPHRASE). */
  passphrase?: string;
  /**
   * OpenSSH's ConnectTimeout (and Ansible's `timeout`): the TCP connect and the server's SSH
   * banner, per hop. Default 10 s. Key exchange and authentication, which a busy runner or
   * host slows down without anything being wrong, get `handshakeTimeoutMs` after that.
   */
  connectTimeoutMs?: number;
  /** Key exchange and authentication once the banner came. Default 6 × connectTimeoutMs, at least 60 s. */
  handshakeTimeoutMs?: number;
  /** SSH keepalive (ServerAliveInterval); the connection is declared lost after `keepaliveCountMax` misses. Default 15 s, 3. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Identity files and known_hosts read once per run (`createSshFileCache`); default: per connection. */
  fileCache?: SshFileCache;
  signal?: AbortSignal | undefined;
}

export interface SshConnection {
  client: Client;
  /** Host keys taken as new while connecting (its jump hosts' too), now in known_hosts. */
  acceptedHostKeys: AcceptedHostKey[];
  /** Jump-host clients, closed with the connection. */
  hops: Client[];
  /**
   * The TCP connection under it all (to the first jump host, if any): destroyed when a host that
   * stopped answering does not let the connection end (see the transport's close).
   */
  socket: Duplex;
  resolved: SshHostConfig;
  /** The address, port, user and jump hosts this connection took. */
  route: HostRoute;
}

const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const MIN_HANDSHAKE_TIMEOUT_MS = 60_000;

/** The two timeouts of one hop: connect + banner, then key exchange + authentication. */
function timeoutsOf(options: SshConnectOptions): { connectMs: number; handshakeMs: number } {
  const connectMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const handshakeMs =
    options.handshakeTimeoutMs ?? Math.max(MIN_HANDSHAKE_TIMEOUT_MS, 6 * connectMs);
  return { connectMs, handshakeMs };
}

let ssh2Module: Promise<typeof import('ssh2')> | undefined;
/** ssh2, imported when the first connection is made (not with this package), and only once. */
function loadSsh2(): Promise<typeof import('ssh2')> {
  ssh2Module ??= import('ssh2');
  return ssh2Module;
}

/**
 * Loads ssh2 now (with the Node modules it loads: net, zlib, assert, dns…) rather
 * than at the first connection: for a process about to change a V8 flag at run time (the CLI's
 * heap cap), since V8 then refuses every code cache, Node's own modules' included, and whatever
 * loads after it is compiled from source (~13 ms of CPU for those modules, more under a profiler).
 */
export async function preloadSsh2(): Promise<void> {
  await loadSsh2();
}

let localUser: string | undefined;
/** This process's user (ssh's default remote user), asked of the system once, not per host. */
function localUserName(): string {
  localUser ??= userInfo().username;
  return localUser;
}

/** Opens one authenticated SSH connection to `target`, through its jump hosts, verifying every host key. */
export async function connectSshHost(
  target: SshTarget,
  options: SshConnectOptions,
): Promise<SshConnection> {
  const env = {
    homeDir: options.homeDir ?? homedir(),
    localUser: options.localUser ?? localUserName(),
  };
  const base = resolveSshConfig(options.sshConfigText, target.host ?? target.name, env);
  if (options.addressIsFinal && base.hostName !== base.alias)
    throw new execErrors.RefusalError(
      'SSH_ROUTE_REFUSED',
      `host ${target.name}: the ssh config gives ${base.alias} HostName ${base.hostName}, and opsbook connects only to the address the approved plan holds (${base.alias}): set ansible_host: ${base.hostName} in the inventory and plan again (the senior then approves that address), or remove the HostName`,
      { host: target.name, address: base.alias, hostName: base.hostName },
    );
  // A ProxyJump only the config gives is refused as its HostName is: the jump host resolves the
  // address in its own network, and the approved plan holds no jump host for this one.
  if (options.addressIsFinal && target.proxyJump === undefined && base.proxyJump.length > 0) {
    const jump = base.proxyJump.map(jumpText).join(',');
    throw new execErrors.RefusalError(
      'SSH_ROUTE_REFUSED',
      `host ${target.name}: the ssh config gives ${base.alias} ProxyJump ${jump}, and opsbook takes only the route the approved plan holds (no jump host for ${base.alias}): set ansible_ssh_common_args: '-o ProxyJump=${jump}' in the inventory and plan again (the senior then approves that route), or remove the ProxyJump`,
      { host: target.name, address: base.alias, proxyJump: jump },
    );
  }
  const resolved: SshHostConfig = {
    ...base,
    port: target.port ?? base.port,
    user: target.user ?? base.user,
    identityFiles: target.identityFile ? [target.identityFile] : base.identityFiles,
    proxyJump: target.proxyJump === undefined ? base.proxyJump : parseProxyJump(target.proxyJump),
  };
  // Each jump host through the config as well (its HostName, Port, User), the same precedence.
  const jumps: SshHostConfig[] = resolved.proxyJump.map((jump) => {
    const hop = resolveSshConfig(options.sshConfigText, jump.host, env);
    return { ...hop, port: jump.port ?? hop.port, user: jump.user ?? hop.user, proxyJump: [] };
  });
  const hops: Client[] = [];
  const acceptedHostKeys: AcceptedHostKey[] = [];
  const onAccepted = (key: AcceptedHostKey) => acceptedHostKeys.push(key);
  let sock: Duplex | undefined;
  let socket: Duplex | undefined;
  try {
    for (const [i, hopConfig] of jumps.entries()) {
      const { client, stream } = await connectOne(
        target.name,
        hopConfig,
        sock,
        options,
        env.homeDir,
        onAccepted,
      );
      hops.push(client);
      socket ??= stream;
      const next = jumps[i + 1] ?? resolved;
      sock = await forward(client, { host: next.hostName, port: next.port }, target.name);
    }
    const { client, stream } = await connectOne(
      target.name,
      resolved,
      sock,
      options,
      env.homeDir,
      onAccepted,
    );
    socket ??= stream;
    const route: HostRoute = {
      address: resolved.hostName,
      port: resolved.port,
      user: resolved.user,
      jumps: jumps.map((j) => ({ address: j.hostName, port: j.port, user: j.user })),
      fromSshConfig: base.setByConfig.filter((field) => target[field] === undefined),
    };
    return { client, hops, socket, resolved, route, acceptedHostKeys };
  } catch (e) {
    for (const hop of hops) hop.end();
    throw e;
  }
}

/** A jump host as ProxyJump writes it: `[user@]host[:port]`. */
function jumpText(jump: { user?: string; host: string; port?: number }): string {
  const host = jump.host.includes(':') ? `[${jump.host}]` : jump.host;
  return `${jump.user ? `${jump.user}@` : ''}${host}${jump.port !== undefined ? `:${jump.port}` : ''}`;
}

function forward(
  client: Client,
  to: { host: string; port: number },
  name: string,
): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, to.host, to.port, (err, stream) => {
      if (err) {
        reject(
          new execErrors.UnreachableError(
            'SSH_JUMP_FAILED',
            `host ${name}: the jump host could not open a connection to ${to.host} port ${to.port} (${err.message}): check ProxyJump and that the jump host may forward`,
            { host: name, address: to.host, port: to.port },
          ),
        );
      } else resolve(stream);
    });
  });
}

async function connectOne(
  name: string,
  config: SshHostConfig,
  sock: Duplex | undefined,
  options: SshConnectOptions,
  homeDir: string,
  onAccepted: (key: AcceptedHostKey) => void,
): Promise<{ client: Client; stream: Duplex }> {
  options.signal?.throwIfAborted();
  const files = options.fileCache ?? uncachedSshFiles;
  const knownHosts = await files.knownHosts(options.knownHostsFile);
  const pinned = options.globalKnownHostsFile
    ? await files.knownHosts(options.globalKnownHostsFile)
    : undefined;
  const auth = await authMethods(name, config, options, homeDir);
  const { Client } = await loadSsh2();
  const client = new Client();
  const facts = { host: name, address: config.hostName, port: config.port };
  let verdict: HostKeyVerdict | undefined;
  /** The file whose entries decided the verdict, for the message. */
  let verdictFile = options.knownHostsFile;
  let presented: { type: string; blob: Buffer } | undefined;
  const { connectMs, handshakeMs } = timeoutsOf(options);
  // A jump host's stream has no TCP connect of its own: the whole hop gets connectMs.
  const stream =
    sock ??
    (await openBannerTimedSocket(config.hostName, config.port, connectMs, {
      signal: options.signal,
      aborted: () => new InterruptedError(`connecting to ${name} was cancelled`),
    }));
  const connectConfig: ConnectConfig = {
    host: config.hostName,
    port: config.port,
    username: config.user,
    sock: stream,
    readyTimeout: sock ? connectMs : connectMs + handshakeMs,
    keepaliveInterval: options.keepaliveIntervalMs ?? 15_000,
    keepaliveCountMax: options.keepaliveCountMax ?? 3,
    authHandler: auth,
    algorithms: {
      serverHostKey: {
        prepend: preferredAlgorithms([
          ...(pinned ? knownKeyTypes(pinned, config.hostName, config.port) : []),
          ...knownKeyTypes(knownHosts, config.hostName, config.port),
        ]),
      } as never,
    },
    hostVerifier: (key: Buffer) => {
      presented = { type: keyTypeOfBlob(key), blob: key };
      verdict = checkHostKey(knownHosts, config.hostName, config.port, presented.type, key);
      // The machine's pin decides for every host it lists (a match, or the refusal).
      const pin = pinned && checkHostKey(pinned, config.hostName, config.port, presented.type, key);
      if (pin && pin.status !== 'unknown' && verdict.status !== 'revoked') {
        verdict = pin;
        verdictFile = options.globalKnownHostsFile!;
      }
      // A key another connection (or this one, before a re-key) accepted as new holds the host.
      verdict = checkAcceptedHostKey(
        verdict,
        options.knownHostsFile,
        config.hostName,
        config.port,
        key,
      );
      if (verdict.status === 'unknown' && options.acceptNewHostKeys === true) {
        // At once, not when the line is written: a connection verifying meanwhile sees it.
        rememberAcceptedHostKey(options.knownHostsFile, config.hostName, config.port, key);
        return true;
      }
      return verdict.status === 'match';
    },
  };
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      client.destroy();
      reject(new InterruptedError(`connecting to ${name} was cancelled`));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    client.once('ready', () => {
      options.signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    // `on`, not `once`: ssh2 may emit a second error while tearing down.
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      options.signal?.removeEventListener('abort', onAbort);
      client.destroy();
      reject(
        connectError(err, facts, verdict, {
          knownHostsFile: verdictFile,
          timeoutMs: connectMs,
          handshakeMs: sock ? undefined : handshakeMs,
        }),
      );
    });
    client.connect(connectConfig);
  });
  client.on('error', () => {}); // later errors surface as 'close' to the pending commands
  if (verdict?.status === 'unknown' && presented) {
    const line = formatKnownHostsLine(
      config.hostName,
      config.port,
      presented.type,
      presented.blob,
      { hash: options.hashKnownHosts ?? false },
    );
    await appendKnownHostsLine(options.knownHostsFile, line);
    files.forgetKnownHosts(options.knownHostsFile);
    onAccepted({
      host: name,
      address: config.hostName,
      port: config.port,
      keyType: presented.type,
      fingerprint: verdict.fingerprint,
      knownHostsFile: options.knownHostsFile,
    });
  }
  return { client, stream };
}

function preferredAlgorithms(keyTypes: string[]): string[] {
  return keyTypes.flatMap((t) =>
    t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t],
  );
}

type AuthMethod =
  | { type: 'publickey'; username: string; key: ParsedKey | Buffer; passphrase?: string }
  | { type: 'agent'; username: string; agent: string };

async function authMethods(
  name: string,
  config: SshHostConfig,
  options: SshConnectOptions,
  homeDir: string,
): Promise<AuthMethod[]> {
  const explicit = config.identityFiles.length > 0;
  const files = explicit
    ? config.identityFiles
    : DEFAULT_IDENTITIES.map((f) => path.join(homeDir, '.ssh', f));
  const methods: AuthMethod[] = [];
  for (const file of files) {
    const key = await (options.fileCache ?? uncachedSshFiles).identityKey(file, options.passphrase);
    if (!key) {
      // No login is possible: the host cannot be reached (exit 4), and nothing ran there.
      if (explicit)
        throw new execErrors.UnreachableError(
          'SSH_NO_CREDENTIALS',
          `host ${name}: identity file ${file} cannot be read: fix IdentityFile or ansible_ssh_private_key_file`,
          { host: name, identityFile: file },
        );
      continue;
    }
    // Parsed already (with the passphrase), or bytes ssh2 will fail to parse and skip as before.
    methods.push({
      type: 'publickey',
      username: config.user,
      key,
      ...(options.passphrase ? { passphrase: options.passphrase } : {}),
    });
  }
  if (options.agentSocket)
    methods.push({ type: 'agent', username: config.user, agent: options.agentSocket });
  if (methods.length === 0) {
    throw new execErrors.UnreachableError(
      'SSH_NO_CREDENTIALS',
      `host ${name}: no private key file and no ssh-agent to authenticate with: set IdentityFile, ansible_ssh_private_key_file or SSH_AUTH_SOCK`,
      { host: name },
    );
  }
  return methods;
}

function connectError(
  err: Error & { level?: string; code?: string },
  facts: { host: string; address: string; port: number },
  verdict: HostKeyVerdict | undefined,
  {
    knownHostsFile,
    timeoutMs,
    handshakeMs,
  }: { knownHostsFile: string; timeoutMs: number; handshakeMs?: number | undefined },
): UnreachableError {
  const where = `host ${facts.host} (${facts.address} port ${facts.port})`;
  if (verdict && verdict.status !== 'match' && verdict.status !== 'unknown')
    return hostKeyError(where, facts, verdict, knownHostsFile);
  if (verdict?.status === 'unknown' && /Host denied/.test(err.message))
    return hostKeyError(where, facts, verdict, knownHostsFile);
  if (err.level === 'client-authentication') {
    return new execErrors.UnreachableError(
      'SSH_AUTH_REFUSED',
      `${where} refused every key offered (${err.message}): check the user and that the key is in authorized_keys`,
      facts,
    );
  }
  if (err.code === 'ECONNREFUSED') {
    return new execErrors.UnreachableError(
      'SSH_CONNECTION_REFUSED',
      `${where} refused the connection: is sshd running and is the port right?`,
      facts,
    );
  }
  if (err.code === 'ETIMEDOUT' || (err.level === 'client-timeout' && handshakeMs === undefined)) {
    return new execErrors.UnreachableError(
      'SSH_CONNECT_TIMEOUT',
      `${where} did not connect and send its SSH banner within ${timeoutMs / 1000} s: check that the host is up and reachable, or raise ansible_timeout`,
      facts,
    );
  }
  if (err.level === 'client-timeout') {
    return new execErrors.UnreachableError(
      'SSH_CONNECT_TIMEOUT',
      `${where} answered but did not complete the SSH key exchange and authentication within ${(handshakeMs ?? 0) / 1000} s more: check the host's load and sshd, or raise ansible_timeout`,
      facts,
    );
  }
  if (err.level === 'client-dns' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
    return new execErrors.UnreachableError(
      'SSH_HOST_UNRESOLVED',
      `${where}: the name does not resolve: fix the inventory or ssh config`,
      facts,
    );
  }
  return new execErrors.UnreachableError('SSH_CONNECT_FAILED', `${where}: ${err.message}`, facts);
}

/**
 * The commands that fetch an unknown host's key, show its fingerprint and add it: a newcomer's
 * first run meets this for every host, and "add it (ssh-keyscan)" left them to find the options
 * (the port, the file) themselves. The fingerprint is checked before the line is added.
 */
function keyscanAdvice(facts: { address: string; port: number }, knownHostsFile: string): string {
  const scan = `ssh-keyscan -p ${facts.port} ${facts.address}`;
  return `Check the fingerprint out of band (${scan} 2>/dev/null | ssh-keygen -lf - shows the host's), then add the host's line: ${scan} >> ${knownHostsFile}`;
}
function hostKeyError(
  where: string,
  facts: { host: string; address: string; port: number },
  verdict: Exclude<HostKeyVerdict, { status: 'match' }>,
  knownHostsFile: string,
): UnreachableError {
  const details = { ...facts, fingerprint: verdict.fingerprint, knownHostsFile };
  const name = knownHostsName(facts.address, facts.port);
  if (verdict.status === 'changed' && verdict.lines.length === 0) {
    return new execErrors.UnreachableError(
      'HOST_KEY_CHANGED',
      `${where} presented host key ${verdict.fingerprint}, but ${verdict.knownFingerprints.join(', ')} was accepted for it as new earlier in this process (--accept-new-host-keys). Nothing was run. This can be an attack: one of the two keys is not the host's. Verify the fingerprints out of band, fix ${knownHostsFile} (ssh-keygen -R '${name}' -f ${knownHostsFile}), then run again`,
      { ...details, knownFingerprints: verdict.knownFingerprints, lines: verdict.lines },
    );
  }
  if (verdict.status === 'changed') {
    return new execErrors.UnreachableError(
      'HOST_KEY_CHANGED',
      `${where} presented host key ${verdict.fingerprint}, but ${knownHostsFile} line ${verdict.lines.join(', ')} holds ${verdict.knownFingerprints.join(', ')}. Nothing was run. This can be an attack; if the host was reinstalled, verify the new fingerprint out of band, then remove the old entry (ssh-keygen -R '${name}' -f ${knownHostsFile})`,
      { ...details, knownFingerprints: verdict.knownFingerprints, lines: verdict.lines },
    );
  }
  if (verdict.status === 'revoked') {
    return new execErrors.UnreachableError(
      'HOST_KEY_REVOKED',
      `${where} presented host key ${verdict.fingerprint}, which ${knownHostsFile} line ${verdict.line} marks @revoked. Nothing was run.`,
      { ...details, line: verdict.line },
    );
  }
  if (verdict.status === 'cert-authority') {
    return new execErrors.UnreachableError(
      'HOST_CERT_UNSUPPORTED',
      `${where}: ${knownHostsFile} line ${verdict.lines.join(', ')} trusts a @cert-authority for this host, but opsbook's SSH library (ssh2) cannot ask a host for its certificate, so the host showed its plain key ${verdict.fingerprint}, which is neither trusted nor added. Nothing was run. Verify that fingerprint out of band and add a plain known_hosts line for '${name}' (ssh-keyscan -p ${facts.port} ${facts.address})`,
      { ...details, lines: verdict.lines },
    );
  }
  return new execErrors.UnreachableError(
    'HOST_KEY_UNKNOWN',
    `${where} presented host key ${verdict.fingerprint}, which ${knownHostsFile} does not know. Nothing was run. ${keyscanAdvice(facts, knownHostsFile)}, or run with --accept-new-host-keys to trust new hosts on first use`,
    details,
  );
}
