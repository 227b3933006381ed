import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A real OpenSSH sshd on loopback for tests (real parts, not fakes: see testkit README). Everything
 * it needs (host keys, a client key, authorized_keys, config, log) lives in one temp dir; it
 * listens on a free port (`findFreePort`) of a 127.0.0.x address so that several "hosts" can run side by side.
 */
export interface SshdOptions {
  /** Loopback address to listen on; default 127.0.0.1. */
  address?: string;
  /** Reuse this client key (private key path; `<path>.pub` must exist) instead of generating one. */
  clientKeyPath?: string;
  /** Host key type; default ed25519. */
  hostKeyType?: 'ed25519' | 'ecdsa' | 'rsa';
  /** Extra sshd_config lines appended at the end. */
  extraConfig?: string[];
  /**
   * sshd's LogLevel; default INFO. Not through extraConfig: sshd keeps the first value of a
   * keyword, so a LogLevel appended there is ignored. DEBUG3 logs everything sshd sees of a session.
   */
  logLevel?: 'INFO' | 'VERBOSE' | 'DEBUG3';
  /**
   * Serve the SFTP subsystem (`Subsystem sftp internal-sftp`); default true. `false` is a host
   * whose sshd_config has no `Subsystem sftp` line, as some hardened images ship.
   */
  sftp?: boolean;
  /** Path of the sshd binary; default /usr/sbin/sshd. */
  sshdPath?: string;
  /**
   * Sign the host key with this CA (`ssh-keygen -s caKeyPath -h`) and serve the certificate
   * (`HostCertificate`), as a host of a site with an SSH CA does; the plain key is still served.
   */
  hostCertificate?: { caKeyPath: string; principals: string[]; validity?: string };
}

export interface Sshd {
  host: string;
  port: number;
  user: string;
  dir: string;
  clientKeyPath: string;
  clientPublicKey: string;
  /** `<type> <base64>` of the current host key. */
  hostPublicKey: string;
  /** The host certificate file when `hostCertificate` was given. */
  hostCertificatePath?: string;
  /** The known_hosts line for this instance (`[host]:port type base64`). */
  knownHostsLine: string;
  pid: number;
  /** Everything sshd logged on stderr so far (`-e`). */
  log(): string;
  /** Number of successful public-key authentications logged so far. */
  countLogins(): number;
  /** Kills sshd and every session process it forked (like a host that dies). */
  kill(): Promise<void>;
  /** Stops sshd and its sessions; does not remove the temp dir. */
  stop(): Promise<void>;
  /** Stops, optionally generates a NEW host key, and starts again on the same address and port. */
  restart(options?: { newHostKey?: boolean }): Promise<void>;
  /** Stops and removes the temp dir. */
  dispose(): Promise<void>;
}

const READY_ATTEMPTS = 200;
const READY_POLL_MS = 50;

export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  const sshdPath = options.sshdPath ?? '/usr/sbin/sshd';
  if (!existsSync(sshdPath)) {
    throw new Error(
      `OpenSSH sshd not found at ${sshdPath}: install the Debian package openssh-server (apt-get install -y openssh-server)`,
    );
  }
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const address = options.address ?? '127.0.0.1';
  const dir = await mkdtemp(path.join(tmpdir(), 'opsbook-sshd-'));
  const hostKeyType = options.hostKeyType ?? 'ed25519';
  const hostKeyPath = path.join(dir, `ssh_host_${hostKeyType}_key`);
  await generateKey(hostKeyPath, hostKeyType);
  const clientKeyPath = options.clientKeyPath ?? path.join(dir, 'client_key');
  if (!options.clientKeyPath) await generateKey(clientKeyPath, 'ed25519');
  const clientPublicKey = (await readFile(`${clientKeyPath}.pub`, 'utf8')).trim();
  await writeFile(path.join(dir, 'authorized_keys'), `${clientPublicKey}\n`, { mode: 0o600 });

  const state = {
    child: undefined as ChildProcess | undefined,
    log: '',
    port: 0,
    hostPublicKey: '',
  };
  const launch = async (port: number) => {
    state.port = port;
    if (options.hostCertificate) await signHostKey(hostKeyPath, options.hostCertificate);
    await writeFile(
      path.join(dir, 'sshd_config'),
      sshdConfig(dir, address, port, hostKeyPath, options),
    );
    state.hostPublicKey = publicKeyOnly(await readFile(`${hostKeyPath}.pub`, 'utf8'));
    state.child = await launchSshd(sshdPath, dir, address, port, (text) => {
      state.log += text;
    });
  };
  try {
    await launchOnFreePort(address, launch);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }

  const stop = async () => {
    if (state.child?.pid) await killTree(state.child.pid, state.child);
    state.child = undefined;
  };
  const sshd: Sshd = {
    host: address,
    get port() {
      return state.port;
    },
    user: userInfo().username,
    dir,
    clientKeyPath,
    clientPublicKey,
    get hostPublicKey() {
      return state.hostPublicKey;
    },
    ...(options.hostCertificate ? { hostCertificatePath: `${hostKeyPath}-cert.pub` } : {}),
    get knownHostsLine() {
      return `[${address}]:${state.port} ${state.hostPublicKey}`;
    },
    get pid() {
      return state.child?.pid ?? 0;
    },
    log: () => state.log,
    countLogins: () => state.log.split('\n').filter((l) => l.includes('Accepted publickey')).length,
    kill: stop,
    stop,
    async restart({ newHostKey = false } = {}) {
      await stop();
      if (newHostKey) {
        await rm(hostKeyPath, { force: true });
        await rm(`${hostKeyPath}.pub`, { force: true });
        await generateKey(hostKeyPath, hostKeyType);
      }
      await launch(state.port);
    },
    async dispose() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return sshd;
}

/** Starts `count` sshd instances on 127.0.0.2, 127.0.0.3, … sharing one client key. */
export async function startSshdHosts(
  count: number,
  options: Omit<SshdOptions, 'address'> = {},
): Promise<Sshd[]> {
  const first = await startSshd({ ...options, address: '127.0.0.2' });
  const rest = await Promise.all(
    Array.from({ length: count - 1 }, (_, i) =>
      startSshd({ ...options, address: `127.0.0.${i + 3}`, clientKeyPath: first.clientKeyPath }),
    ),
  );
  return [first, ...rest];
}

/**
 * A port that was free a moment ago on `address`, outside the kernel's range for the local ports
 * of outgoing connections (net.ipv4.ip_local_port_range, 32768–60999 by default): a server stopped
 * and started again on it (`restart()`, a fake's `down()`/`up()`) cannot find it taken meanwhile by
 * a connection some process opened, which a port 0 gave (the kernel picks those from that range).
 * Random below that range, from 10000, tried until one is free; port 0's choice if none is.
 */
export async function findFreePort(address: string): Promise<number> {
  const low = await ephemeralLow();
  for (let attempt = 0; attempt < 50 && low > 11_000; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
    if ((await listenAndClose(address, port)) !== undefined) return port;
  }
  const any = await listenAndClose(address, 0);
  if (any === undefined) throw new Error(`no free port on ${address}`);
  return any;
}

/** The first port of the kernel's range for outgoing connections (32768 if it cannot be read). */
async function ephemeralLow(): Promise<number> {
  try {
    const first = Number(
      (await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')).split(/\s+/)[0],
    );
    return Number.isInteger(first) && first > 0 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

/** Listens on `port` (0: any) and stops at once: the port it had, or undefined if it was taken. */
function listenAndClose(address: string, port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) =>
      e.code === 'EADDRINUSE' || e.code === 'EACCES' ? resolve(undefined) : reject(e),
    );
    server.listen({ port, host: address, exclusive: true }, () => {
      const bound = server.address();
      const got = typeof bound === 'object' && bound ? bound.port : 0;
      server.close(() => resolve(got));
    });
  });
}

async function launchOnFreePort(
  address: string,
  launch: (port: number) => Promise<void>,
): Promise<void> {
  // Another process may grab the port between our probe and sshd's bind: try a few ports.
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await launch(await findFreePort(address));
      return;
    } catch (e) {
      lastError = e;
      if (!String(e).includes('Address already in use')) break;
    }
  }
  throw lastError;
}

async function generateKey(file: string, type: string): Promise<void> {
  const bits = type === 'rsa' ? ['-b', '3072'] : [];
  await run('ssh-keygen', ['-q', '-t', type, ...bits, '-N', '', '-C', 'opsbook-test', '-f', file]);
}

async function signHostKey(
  hostKeyPath: string,
  cert: NonNullable<SshdOptions['hostCertificate']>,
): Promise<void> {
  const validity = cert.validity ? ['-V', cert.validity] : [];
  await run('ssh-keygen', [
    ...['-q', '-s', cert.caKeyPath, '-h', '-I', 'opsbook-test-host'],
    ...['-n', cert.principals.join(','), ...validity, `${hostKeyPath}.pub`],
  ]);
}

function publicKeyOnly(line: string): string {
  const [type, blob] = line.trim().split(/\s+/);
  return `${type} ${blob}`;
}

function sshdConfig(
  dir: string,
  address: string,
  port: number,
  hostKey: string,
  options: SshdOptions,
): string {
  return [
    `ListenAddress ${address}:${port}`,
    `HostKey ${hostKey}`,
    ...(options.hostCertificate ? [`HostCertificate ${hostKey}-cert.pub`] : []),
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    'StrictModes no',
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'AllowTcpForwarding yes',
    'MaxStartups 1000',
    'MaxSessions 100',
    `LogLevel ${options.logLevel ?? 'INFO'}`,
    ...(options.sftp === false ? [] : ['Subsystem sftp internal-sftp']),
    ...(options.extraConfig ?? []),
    '',
  ].join('\n');
}

async function launchSshd(
  sshdPath: string,
  dir: string,
  address: string,
  port: number,
  onLog: (text: string) => void,
): Promise<ChildProcess> {
  const child = spawn(sshdPath, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    log += text;
    onLog(text);
  });
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });
  child.once('error', (e) => {
    exited = `could not be started: ${e.message}`;
  });
  for (let i = 0; i < READY_ATTEMPTS; i++) {
    if (log.includes(`Server listening on ${address} port ${port}`)) return child;
    if (exited) break;
    await new Promise((r) => setTimeout(r, READY_POLL_MS));
  }
  if (!exited) await killTree(child.pid ?? 0, child);
  throw new Error(
    `sshd on ${address}:${port} did not start (${exited ?? 'no "Server listening" line'}); its log:\n${log}`,
  );
}

/** Kills a process and all its descendants (sshd forks one session process per connection). */
async function killTree(pid: number, child: ChildProcess): Promise<void> {
  if (!pid) return;
  const pids = [pid, ...processesUnder(pid)];
  const exited = child.exitCode !== null || child.signalCode !== null;
  const done = exited ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r()));
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // Already gone: nothing to stop.
    }
  }
  await done;
}

/**
 * The processes `pid` started (its direct children: a listening sshd's sessions), read from /proc
 * at once; none when it has ended.
 */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(' ')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * Every process under `root` (its children, theirs, …), read from /proc at once: a test freezing
 * a host's sessions (SIGSTOP) must find them before the state it waits for moves on, which a
 * `ps` per level did not on a loaded machine.
 */
export function processesUnder(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // Gone meanwhile.
    }
    // The comm field may hold spaces and parentheses: the ppid follows the LAST ')'.
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (after[1]) parents.set(Number(entry), Number(after[1]));
  }
  const found: number[] = [];
  let frontier = [root];
  for (let depth = 0; depth < 64 && frontier.length > 0; depth++) {
    const next = [...parents].filter(([, ppid]) => frontier.includes(ppid)).map(([p]) => p);
    found.push(...next);
    frontier = next;
  }
  return found;
}

/**
 * Stops each process with SIGSTOP (a host frozen: its connections stay open, nothing answers)
 * and returns those it stopped, to resume with resumeAll. A process that ended between its
 * listing and its signal is passed over: it can hang nothing.
 */
export function stopAll(pids: readonly number[]): number[] {
  const stopped: number[] = [];
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGSTOP');
      stopped.push(pid);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }
  return stopped;
}

/** SIGCONT to each of `pids` that still exists (what a test froze, at its end). */
export function resumeAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // Already gone.
    }
  }
}
