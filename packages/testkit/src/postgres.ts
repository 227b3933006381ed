import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findFreePort } from './sshd.js';

const run = promisify(execFile);

/**
 * A real PostgreSQL server for tests (real parts, not fakes: see testkit README): `initdb` into a
 * temp dir, started on a loopback port with its unix socket in the same temp dir. PostgreSQL
 * refuses to run as root, so under root the server runs as the OS user `postgres` (created by the
 * Debian package). TCP connections need the password (scram-sha-256), so tests exercise real
 * credentials; the unix socket trusts the OS user, for setup.
 */
export interface PostgresOptions {
  /** Folder of initdb/postgres; default the newest /usr/lib/postgresql/<n>/bin. */
  binDir?: string;
  /** Loopback address; default 127.0.0.1. */
  address?: string;
  /** Password of the superuser `postgres` over TCP; default a random one. */
  password?: string;
  /** Server settings (`-c NAME=VALUE`), e.g. `{log_statement: 'all'}` to log every statement. */
  settings?: Record<string, string>;
  /**
   * How a port is found for the server (default `findFreePort`: one free a moment ago). Another
   * process may take it before the server binds it: a new port is then found (5 tries).
   */
  findPort?: (address: string) => Promise<number>;
}

export interface Postgres {
  host: string;
  port: number;
  /** Folder holding the unix socket (PGHOST for socket connections). */
  socketDir: string;
  user: string;
  password: string;
  dataDir: string;
  pid: number;
  /** What the server logged on stderr since it last started (its log: `settings` say how much). */
  log(): string;
  /** libpq environment for TCP with the password (PGHOST, PGPORT, PGUSER, PGPASSWORD). */
  env(database?: string): Record<string, string>;
  /** Runs SQL through psql over the unix socket; returns stdout (unaligned, tuples only). */
  psql(sql: string, database?: string): Promise<string>;
  /**
   * Stops the server (fast shutdown: every session ends), waits `downMs`, and starts it again on
   * the same data dir and port: what a client sees of a database restart.
   */
  restart(options?: { downMs?: number }): Promise<void>;
  /** Stops the server (fast shutdown) and removes the temp dir. */
  dispose(): Promise<void>;
}

const READY_ATTEMPTS = 300;
const READY_POLL_MS = 100;

export async function startPostgres(options: PostgresOptions = {}): Promise<Postgres> {
  const binDir = options.binDir ?? defaultBinDir();
  const address = options.address ?? '127.0.0.1';
  const password = options.password ?? `pw-${Math.random().toString(36).slice(2)}`;
  const dir = await mkdtemp(path.join(tmpdir(), 'opsbook-pg-'));
  const dataDir = path.join(dir, 'data');
  const socketDir = path.join(dir, 'socket');
  let child: ChildProcess | undefined;
  try {
    await mkdir(socketDir);
    const asUser = await osUserFor(dir);
    const pwFile = path.join(dir, 'pwfile');
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    if (asUser) await chown(pwFile, asUser.uid, asUser.gid);
    await run(
      ...withUser(asUser, path.join(binDir, 'initdb'), [
        '-D',
        dataDir,
        '-U',
        'postgres',
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        `--pwfile=${pwFile}`,
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
      ]),
    );
    await rm(pwFile);
    let port = 0;
    const psql = (sql: string, database = 'postgres') =>
      psqlOver(binDir, socketDir, port, sql, database);
    let log = () => '';
    const startServer = async () => {
      const [file, args] = withUser(asUser, path.join(binDir, 'postgres'), [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-h',
        address,
        '-k',
        socketDir,
        '-c',
        'fsync=off',
        '-c',
        'full_page_writes=off',
        ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => [
          '-c',
          `${name}=${value}`,
        ]),
      ]);
      const started = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      child = started;
      log = collect(started);
      await waitReady(started, log, () => psql('select 1'));
      return started;
    };
    // The port was free when found, not necessarily when the server binds it (as sshd.ts).
    const startOnFreePort = async (): Promise<ChildProcess> => {
      for (let attempt = 0; ; attempt++) {
        port = await (options.findPort ?? findFreePort)(address);
        try {
          return await startServer();
        } catch (e) {
          if (attempt >= 4 || !String(e).includes('Address already in use')) throw e;
        }
      }
    };
    let server = await startOnFreePort();
    return {
      host: address,
      port,
      socketDir,
      user: 'postgres',
      password,
      dataDir,
      get pid() {
        return server.pid ?? 0;
      },
      log: () => log(),
      env: (database = 'postgres') => ({
        PGHOST: address,
        PGPORT: String(port),
        PGUSER: 'postgres',
        PGPASSWORD: password,
        PGDATABASE: database,
      }),
      psql,
      async restart({ downMs = 0 } = {}) {
        await stopServer(server);
        await new Promise((r) => setTimeout(r, downMs));
        server = await startServer();
      },
      async dispose() {
        await stopServer(server);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    if (child) await stopServer(child);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

function defaultBinDir(): string {
  for (const version of [17, 16, 15, 14, 13]) {
    const dir = `/usr/lib/postgresql/${version}/bin`;
    if (existsSync(path.join(dir, 'postgres'))) return dir;
  }
  throw new Error(
    'PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install the Debian package postgresql (apt-get install -y postgresql)',
  );
}

/** Under root, the OS user that runs the server, owning the temp dir; otherwise undefined. */
async function osUserFor(dir: string): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const { stdout } = await run('id', ['-u', 'postgres']).catch(() => {
    throw new Error(
      'PostgreSQL cannot run as root and there is no OS user postgres: install the Debian package postgresql',
    );
  });
  const uid = Number(stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  await chmod(dir, 0o755);
  for (const d of [dir, path.join(dir, 'socket')]) await chown(d, uid, gid);
  return { uid, gid };
}

/** setpriv execs the program itself, so the child's PID is the server's PID. */
function withUser(
  asUser: { uid: number; gid: number } | undefined,
  file: string,
  args: string[],
): [string, string[]] {
  if (!asUser) return [file, args];
  return [
    'setpriv',
    [
      '--reuid',
      String(asUser.uid),
      '--regid',
      String(asUser.gid),
      '--clear-groups',
      '--',
      file,
      ...args,
    ],
  ];
}

function collect(child: ChildProcess): () => string {
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    log += text;
  });
  return () => log;
}

async function waitReady(
  child: ChildProcess,
  log: () => string,
  probe: () => Promise<unknown>,
): Promise<void> {
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });
  for (let i = 0; i < READY_ATTEMPTS && !exited; i++) {
    if (
      await probe().then(
        () => true,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, READY_POLL_MS));
  }
  throw new Error(
    `PostgreSQL did not start (${exited ?? 'never accepted a connection'}); its log:\n${log()}`,
  );
}

async function psqlOver(
  binDir: string,
  socketDir: string,
  port: number,
  sql: string,
  database: string,
): Promise<string> {
  const psqlPath = existsSync(path.join(binDir, 'psql')) ? path.join(binDir, 'psql') : 'psql';
  const { stdout } = await run(
    psqlPath,
    [
      '-X',
      '-q',
      '-A',
      '-t',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      socketDir,
      '-p',
      String(port),
      '-U',
      'postgres',
      '-d',
      database,
      '-c',
      sql,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

/** SIGINT is PostgreSQL's fast shutdown: it ends every session and exits cleanly. */
async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid, 'SIGINT');
  await exited;
}

/** A psql session holding an advisory lock (see holdAdvisoryLock). */
export interface HeldAdvisoryLock {
  /** The session's backend pid, as pg_stat_activity and pg_locks show it. */
  pid: number;
  /** Ends the session (the lock goes with it); resolves once psql has exited. */
  release(): Promise<void>;
  /** Kills psql if it still runs (for an afterAll). */
  kill(): void;
}

/**
 * A psql session over TCP (`env`: Postgres.env(database)), as `application`, that takes the
 * advisory lock `lock` exclusively, named as opsbook names its locks (the first 64 bits of the
 * md5 of the name), and keeps it. Resolves once the lock is held; fails if psql ends first or
 * has not taken it within 10 s.
 */
export async function holdAdvisoryLock(
  env: Record<string, string>,
  lock: string,
  application: string,
): Promise<HeldAdvisoryLock> {
  const session = spawn('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'], {
    env: { ...process.env, ...env, PGAPPNAME: application },
  });
  let out = '';
  session.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  session.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const ended = new Promise<void>((resolve) => session.once('exit', () => resolve()));
  session.stdin.write(
    `select pg_advisory_lock(('x' || left(md5('${lock.replaceAll("'", "''")}'), 16))::bit(64)::bigint);\n` +
      `select 'held by ' || pg_backend_pid();\n`,
  );
  for (let i = 0; i < 200 && !/held by \d+/.test(out); i++) {
    if (session.exitCode !== null) throw new Error(`psql exited ${session.exitCode}: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const pid = /held by (\d+)/.exec(out)?.[1];
  if (!pid) {
    session.kill('SIGKILL');
    throw new Error(`psql did not take the lock ${lock} within 10 s: ${out}`);
  }
  return {
    pid: Number(pid),
    async release() {
      session.stdin.end();
      await ended;
    },
    kill() {
      if (session.exitCode === null) session.kill('SIGKILL');
    },
  };
}

/**
 * Sets the synchronous standby every commit of `pg` waits for ('': none) and reloads the
 * configuration, until a new session has it (the server takes a reload as a signal comes, not
 * at once). A standby that never connects holds each commit after it is written locally: with
 * `backendWaitingForStandby` and `pg_terminate_backend`, a test makes a commit whose answer is
 * lost (a restart, or a backend ended, at that instant). Sessions connected before may still
 * commit by the old setting: open the connections under test after.
 */
export async function synchronousStandby(pg: Postgres, standby: string): Promise<void> {
  await pg.psql(`alter system set synchronous_standby_names = '${standby.replaceAll("'", "''")}'`);
  await pg.psql('select pg_reload_conf()');
  for (let i = 0; i < 200; i++) {
    if ((await pg.psql('show synchronous_standby_names')).trim() === standby) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the server did not take synchronous_standby_names = '${standby}' within 10 s`);
}

/**
 * The pid of a backend of `database` (any database when undefined) whose commit waits for the
 * synchronous standby (wait_event SyncRep); fails after 10 s, naming `what` waited.
 */
export async function backendWaitingForStandby(
  pg: Postgres,
  database: string | undefined,
  what: string,
): Promise<number> {
  const where = database === undefined ? '' : ` and datname = '${database.replaceAll("'", "''")}'`;
  for (let i = 0; i < 200; i++) {
    const pid = (
      await pg.psql(`select pid from pg_stat_activity where wait_event = 'SyncRep'${where} limit 1`)
    ).trim();
    if (pid) return Number(pid);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no backend of ${what} waited for the standby within 10 s`);
}

/**
 * Blocks (synchronously) until process `pid`, a child of this process (a zombie until Node reaps
 * it), has exited: nothing of this process runs meanwhile, e.g. after a server is killed at an
 * instant a test makes certain. Fails after 10 s.
 */
export function blockUntilExited(pid: number): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 500; i++) {
    let state: string | undefined;
    try {
      state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    } catch {
      return;
    }
    if (state === 'Z') return;
    Atomics.wait(pause, 0, 0, 20);
  }
  throw new Error(`process ${pid} did not exit within 10 s`);
}

/**
 * Runs `work` (which opens its connections itself, after the standby is set) so that its commit
 * is written and its answer lost: a synchronous standby that never answers holds the commit, and
 * the backend of `database` (any, when undefined) waiting there is terminated, as a restart at
 * that instant ends it. Resolves with how `work` settled, once the standby is cleared again.
 */
export async function commitAnswerLost<T>(
  pg: Postgres,
  database: string | undefined,
  what: string,
  work: () => Promise<T>,
): Promise<{ value: T } | { error: unknown }> {
  await synchronousStandby(pg, 'nobody');
  try {
    const settled = work().then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    const pid = await backendWaitingForStandby(pg, database, what);
    await pg.psql(`select pg_terminate_backend(${pid})`);
    await synchronousStandby(pg, '');
    return await settled;
  } finally {
    await synchronousStandby(pg, '');
  }
}
