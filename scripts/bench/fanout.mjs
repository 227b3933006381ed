#!/usr/bin/env node
// Fan-out cost of `opsbook run` (issue 4): one command on 50 and 200 hosts, in the same run, for
//   opsbook run        plan + approve first (demo-style senior key), then ONLY the run is timed
//   bare ssh2 loop     connect + exec + close in Node, same concurrency: the floor for a Node runner
//   parallel-ssh -p N  one OpenSSH client process per host
//   ansible -f 50      -m command with pipelining
// at N in parallel; then at 200 hosts the same at Ansible's parallelism (50, BENCH_ANSIBLE_FORKS),
// a 5-step vs a 1-step runbook (plus bare 5-exec loops, with and without opsbook's remote
// wrapper), and opsbook's peak RSS on 1,000 hosts. Results and their reading: BENCHMARKS.md.
//
// Every "host" is an alias of ONE real OpenSSH sshd on 127.0.0.1 (ephemeral port, MaxStartups
// raised, sftp on), logged into as a dedicated user `opsbench` whose shell is /bin/sh, so no
// profile script (root's .bashrc runs `pyenv init`, ~3 s) is measured. Each measurement is a
// fresh process under /usr/bin/time (wall, user+sys of the process tree, peak RSS of its
// largest process); BENCH_RUNS rounds (default 3), interleaved, median reported.
// Needs root (creates the user, starts sshd). Everything it starts is stopped by PID; the temp
// dir, the authorized_keys it wrote and the user (when it created it) are removed at the end.
//
// Also recorded: sshd's own CPU (server and clients share the cores), and where opsbook's wall
// time goes (before run-start, hosts, after run-end, from its journal).
//
//   node scripts/bench/fanout.mjs                 full run (~1 h on 2 busy cores, half of it Ansible)
//   BENCH_RUNS=1 BENCH_SIZES=50 BENCH_MEMORY_HOSTS=0 BENCH_STEPS=0 node scripts/bench/fanout.mjs
//   BENCH_TOOLS=opsbook,ssh2 …                    only the tools whose names contain these words
//   BENCH_PROFILE=1 …                             adds one `node --cpu-prof` opsbook run, summarised
//   BENCH_TIMEOUT_S=1200 …                        per-command limit (default 600 s)
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chown,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
/** The CLI of the snapshot taken at start (see snapshotBuild). */
let build;
let bin;
const runs = Number(process.env.BENCH_RUNS ?? 3);
const sizes = (process.env.BENCH_SIZES ?? '50,200').split(',').map(Number);
const memoryHosts = Number(process.env.BENCH_MEMORY_HOSTS ?? 1000);
const withSteps = process.env.BENCH_STEPS !== '0';
const profile = process.env.BENCH_PROFILE === '1';
const ansibleForks = Number(process.env.BENCH_ANSIBLE_FORKS ?? 50);
const commandTimeoutMs = Number(process.env.BENCH_TIMEOUT_S ?? 600) * 1000;
const USER = 'opsbench';
const DEFAULT_HOME = '/var/lib/opsbench';
let userHome = DEFAULT_HOME;
const COMMAND = 'true';
const CLOCK_TICKS =
  Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const largest = Math.max(...sizes);

/** Processes started by this script, by PID, so that every exit path can stop them. */
const live = new Set();
let sshd;
let stopping = false;
let work;
let createdUser = false;
let wroteAuthorizedKeys = false;

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    stopping = true;
    console.error(`\n${signal}: stopping the benchmark`);
    for (const pid of live) killGroup(pid);
  });
}

try {
  preflight();
  work = await mkdtemp(path.join(tmpdir(), 'opsbook-bench-fanout-'));
  await snapshotBuild(work);
  await ensureUser();
  const world = await prepareWorld(work);
  const results = await measureAll(world);
  report(world, results);
} finally {
  await cleanUp();
}

/**
 * Copies every package's built dist (and its node_modules links) into the temp dir, so that a
 * rebuild of the checkout during the long run cannot swap or delete the code being measured.
 */
async function snapshotBuild(dir) {
  build = path.join(dir, 'build');
  for (const pkg of await readdir(path.join(root, 'packages'))) {
    const from = path.join(root, 'packages', pkg);
    if (!existsSync(path.join(from, 'dist'))) continue;
    for (const part of ['package.json', 'dist', 'node_modules']) {
      if (!existsSync(path.join(from, part))) continue;
      await cp(path.join(from, part), path.join(build, 'packages', pkg, part), {
        recursive: true,
        verbatimSymlinks: true,
        filter: (f) => !/[/\\]\.(vite|vite-temp)$/.test(f),
      });
    }
  }
  // pnpm's links are relative (../../../node_modules/.pnpm/…): point them at the checkout's store.
  await symlink(path.join(root, 'node_modules'), path.join(build, 'node_modules'));
  bin = path.join(build, 'packages/cli/dist/bin.js');
}

function preflight() {
  const missing = [];
  if (process.getuid?.() !== 0) missing.push('root (to create the opsbench user and start sshd)');
  for (const [file, pkg] of [
    ['/usr/sbin/sshd', 'openssh-server'],
    ['/usr/bin/ssh-keygen', 'openssh-client'],
    ['/usr/bin/time', 'time'],
    ['/usr/bin/parallel-ssh', 'pssh'],
    ['/usr/bin/ansible', 'ansible'],
  ]) {
    if (!existsSync(file)) missing.push(`${file} (Debian package ${pkg})`);
  }
  const cli = path.join(root, 'packages/cli/dist/bin.js');
  if (!existsSync(cli)) missing.push(`${cli} (run pnpm build)`);
  if (missing.length > 0) {
    throw new Error(
      `fanout benchmark cannot start, missing: ${missing.join(', ')}. scripts/setup-test-host.sh installs the packages.`,
    );
  }
}

async function ensureUser() {
  if (spawnSync('id', ['-u', USER]).status !== 0) {
    // Password '*': none can match, yet the account is not locked ('!'), which sshd without PAM refuses.
    const args = [
      '--system',
      '--password',
      '*',
      '--shell',
      '/bin/sh',
      '--home-dir',
      DEFAULT_HOME,
      '--create-home',
      USER,
    ];
    check(spawnSync('useradd', args, { encoding: 'utf8' }), `useradd ${USER}`);
    createdUser = true;
  }
  const entry = spawnSync('getent', ['passwd', USER], { encoding: 'utf8' })
    .stdout.trim()
    .split(':');
  userHome = entry[5] || DEFAULT_HOME;
  if (entry[6] !== '/bin/sh')
    throw new Error(
      `user ${USER} exists with shell ${entry[6]}: the benchmark needs /bin/sh (no profile to measure)`,
    );
}

async function prepareWorld(dir) {
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  const clientKey = path.join(dir, 'client_key');
  for (const f of [hostKey, clientKey]) {
    check(
      spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'opsbook-bench', '-f', f]),
      'ssh-keygen',
    );
  }
  await installAuthorizedKey(`${(await readFile(`${clientKey}.pub`, 'utf8')).trim()}\n`);
  const [type, blob] = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/);
  sshd = await startSshd(dir, hostKey);
  const port = sshd.port;
  await writeFile(path.join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${type} ${blob}\n`);
  const counts = [...new Set([...sizes, ...(memoryHosts > 0 ? [memoryHosts] : [])])];
  const names = (n) =>
    Array.from({ length: n }, (_, i) => `host-${String(i + 1).padStart(4, '0')}`);
  for (const n of counts) {
    const lines = names(n).map(
      (h) =>
        `${h} ansible_host=127.0.0.1 ansible_port=${port} ansible_user=${USER} ansible_ssh_private_key_file=${clientKey} ansible_python_interpreter=/usr/bin/python3`,
    );
    await writeFile(path.join(dir, `inventory-${n}.ini`), `[bench]\n${lines.join('\n')}\n`);
    await writeFile(path.join(dir, `hosts-${n}.txt`), `${names(n).join('\n')}\n`);
  }
  await writeFile(
    path.join(dir, 'ssh_config'),
    [
      'Host host-*',
      '  HostName 127.0.0.1',
      `  Port ${port}`,
      `  User ${USER}`,
      `  IdentityFile ${clientKey}`,
      '  IdentitiesOnly yes',
      '  StrictHostKeyChecking yes',
      `  UserKnownHostsFile ${path.join(dir, 'known_hosts')}`,
      '  GlobalKnownHostsFile /dev/null',
      '  BatchMode yes',
      '  ControlMaster no',
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const approve = await prepareOpsbook(dir);
  const { shellInvocationLine, encodeEnvBlock } = await import(
    path.join(build, 'packages/exec/dist/index.js')
  );
  // The exact command line and stdin opsbook sends for a step `run: true` (run id, ticket, host).
  const wrapper = {
    line: shellInvocationLine({ command: COMMAND }),
    stdin: encodeEnvBlock({
      OPSBOOK_RUN_ID: '20260101-000000-bench0',
      OPSBOOK_TICKET: 'OPS-1',
      OPSBOOK_HOST: 'host-0001',
    }),
  };
  return { dir, port, clientKey, hostBlob: blob, approve, wrapper };
}

/** authorized_keys in the user's home: sshd reads it as that user, so a root-only temp dir would not do. */
async function installAuthorizedKey(line) {
  const sshDir = path.join(userHome, '.ssh');
  await mkdir(sshDir, { recursive: true, mode: 0o700 });
  const { uid, gid } = userIds();
  await writeFile(path.join(sshDir, 'authorized_keys'), line, { mode: 0o600 });
  wroteAuthorizedKeys = true;
  await chown(userHome, uid, gid);
  await chown(sshDir, uid, gid);
  await chown(path.join(sshDir, 'authorized_keys'), uid, gid);
}

function userIds() {
  const uid = Number(spawnSync('id', ['-u', USER], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', USER], { encoding: 'utf8' }).stdout.trim());
  return { uid, gid };
}

async function startSshd(dir, hostKey) {
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  let lastError;
  // Another process may take the port between the probe and sshd's bind: a few tries.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    await writeFile(
      path.join(dir, 'sshd_config'),
      [
        `ListenAddress 127.0.0.1:${port}`,
        `HostKey ${hostKey}`,
        `PidFile ${path.join(dir, 'sshd.pid')}`,
        'AuthorizedKeysFile .ssh/authorized_keys',
        `AllowUsers ${USER}`,
        'UsePAM no',
        'StrictModes no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        'MaxStartups 1000:30:1000',
        'MaxSessions 100',
        'Subsystem sftp internal-sftp',
        'PrintMotd no',
        'UseDNS no',
        'LogLevel ERROR',
        '',
      ].join('\n'),
    );
    const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', path.join(dir, 'sshd_config')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    live.add(child.pid);
    let log = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (t) => {
      if (log.length < 100_000) log += t;
    });
    if (await waitForBanner(port, child)) return { pid: child.pid, port, child, log: () => log };
    await killTree(child.pid);
    lastError = new Error(`sshd on 127.0.0.1:${port} did not start; its log:\n${log}`);
    if (!log.includes('Address already in use')) break;
  }
  throw lastError;
}

async function waitForBanner(port, child) {
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    const banner = await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.setTimeout(1000, () => s.destroy());
      s.once('data', (d) => {
        s.destroy();
        resolve(String(d));
      });
      s.once('error', () => resolve(''));
      s.once('close', () => resolve(''));
    });
    if (banner.startsWith('SSH-2.0-')) return true;
    await sleep(50);
  }
  return false;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A demo senior key and trust store (as scripts/demo.mjs), runbooks, and one signed approval per case. */
async function prepareOpsbook(dir) {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ type: 'sec1', format: 'pem' });
  const keyFile = path.join(dir, 'bench-senior.pem');
  await writeFile(keyFile, pem, { mode: 0o600 });
  const { loadKeyFileSigner, formatPublicKeyLine } = await import(
    path.join(build, 'packages/approval/dist/index.js')
  );
  const signer = await loadKeyFileSigner(pem, { file: keyFile });
  await writeFile(
    path.join(dir, 'approvers.yaml'),
    `apiVersion: opsbook/v1
kind: Approvers
version: 1
approvers:
  - id: bench-senior
    name: Bench Senior
    roles: [senior]
    keys: ["${formatPublicKeyLine(signer.publicKey)} bench-senior"]
policy:
  signatures: 1
  maxValidity: 7d
rotation: {signatures: 1}
`,
  );
  await writeFile(
    path.join(dir, 'opsbook.yaml'),
    `apiVersion: opsbook/v1
kind: Config
runbooks: runbooks
stateDir: state
trustStore: approvers.yaml
knownHosts: ${path.join(dir, 'known_hosts')}
tracker: {kind: local}
`,
  );
  opsbook(dir, ['trust', 'init']);
  const { LocalTracker } = await import(path.join(build, 'packages/tracker/dist/index.js'));
  const tracker = new LocalTracker({ stateDir: path.join(dir, 'state'), actor: 'bench-senior' });
  /**
   * A ticket in Approved and a signed approval of `steps` steps at `concurrency` on `hosts` hosts:
   * a run moves its ticket to In Review, so every measured run gets its own (untimed).
   */
  return async function approve({ steps, concurrency, hosts }) {
    const name = `bench-${steps}step-c${concurrency}`;
    if (!existsSync(path.join(dir, 'runbooks', name)))
      await writeRunbook(dir, name, { steps, concurrency });
    const { key } = await tracker.create({
      summary: `fan-out benchmark: ${name} on ${hosts} hosts`,
      grade: 'P4',
    });
    await tracker.transition(key, tracker.statuses.awaitingApproval);
    await tracker.transition(key, tracker.statuses.approved);
    const file = path.join(dir, `${key}.approval.json`);
    const inventory = path.join(dir, `inventory-${hosts}.ini`);
    opsbook(dir, ['plan', name, '--ticket', key, '-i', inventory, '-o', file]);
    opsbook(dir, ['approve', file, '--key', keyFile, '-i', inventory]);
    return [process.execPath, bin, 'run', file, '-i', inventory, '--quiet'];
  };
}

async function writeRunbook(dir, name, c) {
  const folder = path.join(dir, 'runbooks', name);
  await mkdir(folder, { recursive: true });
  await writeFile(
    path.join(folder, 'package.json'),
    JSON.stringify({ name: `@runbooks/${name}`, version: '1.0.0', private: true }),
  );
  const steps = Array.from(
    { length: c.steps },
    (_, i) => `    - id: s${i + 1}\n      name: step ${i + 1}\n      run: "${COMMAND}"`,
  );
  await writeFile(
    path.join(folder, 'runbook.yaml'),
    `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: ${name}
  title: Fan-out benchmark, ${c.steps} step(s) at concurrency ${c.concurrency}
  category: routine
  grade: P4
  owners: [bench]
spec:
  targets: {default: all, concurrency: ${c.concurrency}, maxFailures: 0}
  steps:
${steps.join('\n')}
`,
  );
}

function opsbook(cwd, args) {
  check(
    spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: cleanEnv() }),
    `opsbook ${args.join(' ')}`,
  );
}

/** No ssh-agent and no user ssh config for any tool: every client authenticates with the one key file. */
function cleanEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  delete env.SSH_AUTH_SOCK;
  delete env.SSH_AGENT_PID;
  return env;
}

/** The floor: a Node process doing only connect + exec + close with ssh2, `concurrency` at a time. */
async function writeFloorScript(dir) {
  const file = path.join(dir, 'ssh2-floor.mjs');
  await writeFile(
    file,
    `import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const { Client } = createRequire(${JSON.stringify(path.join(build, 'packages/exec/package.json'))})('ssh2');
// {port, keyFile, hostKey, hosts, concurrency, user, command, execs, stdin}
const o = JSON.parse(process.argv[2]);
const key = readFileSync(o.keyFile);
const expected = Buffer.from(o.hostKey, 'base64');
let next = 0;
let ok = 0;
const exec = (c) => new Promise((resolve, reject) => c.exec(o.command, (err, ch) => {
  if (err) return reject(err);
  let code = null;
  ch.on('exit', (x) => { code = x; });
  ch.on('close', () => resolve(code));
  ch.resume();
  ch.stderr.resume();
  if (o.stdin) ch.write(o.stdin);
}));
let slowest = 0;
const one = () => new Promise((resolve, reject) => {
  const c = new Client();
  const started = Date.now();
  c.on('error', reject);
  c.on('ready', async () => {
    slowest = Math.max(slowest, Date.now() - started);
    let good = true;
    for (let i = 0; i < o.execs; i++) good = (await exec(c).catch(reject)) === 0 && good;
    c.end();
    if (good) ok++;
    resolve();
  });
  c.connect({ host: '127.0.0.1', port: o.port, username: o.user, privateKey: key, readyTimeout: 60000, hostVerifier: (k) => k.equals(expected) });
});
const lane = async () => { while (next < o.hosts) { next++; await one(); } };
await Promise.all(Array.from({ length: Math.min(o.concurrency, o.hosts) }, lane));
console.log('ok', ok, 'slowest handshake', (slowest / 1000).toFixed(2), 's');
`,
  );
  return file;
}

function opsbookCase({ world }, n, concurrency, steps = 1) {
  return {
    n,
    concurrency,
    execs: steps,
    tool: steps === 1 ? 'opsbook run' : `opsbook run, ${steps} steps`,
    prepare: () => world.approve({ steps, concurrency, hosts: n }),
    ok: exitZero,
  };
}

/** The bare loop as a measured case: `execs` commands per connection, optionally opsbook's remote wrapper. */
function floorCase({ world, floor }, n, concurrency, { execs = 1, wrapped = false } = {}) {
  const options = {
    port: world.port,
    keyFile: world.clientKey,
    hostKey: world.hostBlob,
    hosts: n,
    concurrency,
    user: USER,
    command: wrapped ? world.wrapper.line : COMMAND,
    execs,
    ...(wrapped ? { stdin: world.wrapper.stdin } : {}),
  };
  const label = [
    execs > 1 ? `${execs} execs` : '',
    wrapped ? "opsbook's remote wrapper" : '',
  ].filter(Boolean);
  return {
    n,
    concurrency,
    execs,
    tool: `bare ssh2 loop${label.length ? `, ${label.join(', ')}` : ''}`,
    argv: [process.execPath, floor, JSON.stringify(options)],
    ok: (r) => r.code === 0 && r.stdout.includes(`ok ${n}`),
  };
}

function psshCase({ dir }, n, parallel) {
  const hosts = path.join(dir, `hosts-${n}.txt`);
  return {
    n,
    concurrency: parallel,
    tool: 'parallel-ssh',
    argv: [
      'parallel-ssh',
      '-p',
      parallel,
      '-t',
      0,
      '-h',
      hosts,
      '-x',
      `-F ${path.join(dir, 'ssh_config')}`,
      COMMAND,
    ],
    ok: (r) => r.code === 0 && count(r.stdout, '[SUCCESS]') === n,
  };
}

function ansibleCase({ dir, ansibleHome }, n) {
  const inventory = path.join(dir, `inventory-${n}.ini`);
  return {
    n,
    concurrency: ansibleForks,
    tool: 'ansible -m command, pipelining',
    argv: ['ansible', 'all', '-i', inventory, '-m', 'command', '-a', COMMAND, '-f', ansibleForks],
    env: ansibleEnv(dir, ansibleHome),
    ok: (r) => r.code === 0 && count(r.stdout, '| CHANGED') === n,
  };
}

async function measureAll(world) {
  const { dir } = world;
  const floor = await writeFloorScript(dir);
  const ansibleHome = path.join(dir, 'ansible');
  await mkdir(ansibleHome, { recursive: true });
  const kit = { world, floor, dir, ansibleHome };
  const cases = [];
  for (const n of sizes) {
    cases.push(
      opsbookCase(kit, n, n),
      floorCase(kit, n, n),
      psshCase(kit, n, n),
      ansibleCase(kit, n),
    );
  }
  // The same hosts at Ansible's parallelism: one sshd on two shared cores cannot complete
  // `largest` handshakes at once within opsbook's fixed 10 s connect timeout (see BENCHMARKS.md).
  const even = ansibleForks;
  if (largest > even) {
    cases.push(
      opsbookCase(kit, largest, even),
      floorCase(kit, largest, even),
      psshCase(kit, largest, even),
    );
  }
  if (withSteps) {
    cases.push(
      opsbookCase(kit, largest, even, 5),
      // What 5 commands on one connection cost without a runner, bare and inside opsbook's
      // remote wrapper (env block on stdin, lifeline): the runner's own share is the rest.
      floorCase(kit, largest, even, { execs: 5 }),
      floorCase(kit, largest, even, { execs: 5, wrapped: true }),
    );
  }
  if (memoryHosts > 0) cases.push({ ...opsbookCase(kit, memoryHosts, even), memory: true });
  // BENCH_TOOLS=opsbook,ssh2 (words matched against the tool names) measures only those, for quick iterations.
  const only = process.env.BENCH_TOOLS?.split(',');
  if (only)
    cases.splice(0, cases.length, ...cases.filter((c) => only.some((w) => c.tool.includes(w))));
  for (const c of cases) c.samples = [];
  // Rounds interleave the tools so that a slow phase of the machine does not land on one tool.
  for (let round = 1; round <= runs; round++) {
    for (const c of cases) {
      if (stopping) throw new Error('interrupted');
      const s = await measure(c, dir);
      c.samples.push(s);
      console.error(
        `round ${round}/${runs}  ${String(c.n).padStart(4)} hosts ×${String(c.concurrency).padEnd(4)} ${c.tool.padEnd(30)} ${s.failure ? `FAILED (${s.failure}) ` : ''}${s.wall.toFixed(2)} s wall, cpu ${s.user.toFixed(2)} user + ${s.sys.toFixed(2)} sys, ${s.rssMb.toFixed(0)} MB, sshd ${s.server.toFixed(2)} s cpu${s.slowestHandshake ? `, slowest handshake ${s.slowestHandshake.toFixed(1)} s` : ''}${s.phases ? `; before run-start ${s.phases.beforeRun.toFixed(2)} s, hosts ${s.phases.hosts.toFixed(2)} s, after run-end ${s.phases.afterRun.toFixed(2)} s` : ''}`,
      );
    }
  }
  if (profile) await profileOpsbook(world);
  return cases;
}

function ansibleEnv(dir, ansibleHome) {
  return {
    ANSIBLE_HOME: ansibleHome,
    ANSIBLE_LOCAL_TEMP: path.join(ansibleHome, 'tmp'),
    ANSIBLE_PIPELINING: '1',
    ANSIBLE_HOST_KEY_CHECKING: 'True',
    ANSIBLE_GATHERING: 'explicit',
    ANSIBLE_RETRY_FILES_ENABLED: '0',
    ANSIBLE_NOCOLOR: '1',
    // One connection per host, as the other tools: every alias has the same address, port and
    // user, so Ansible's default ControlPath (%C) would otherwise multiplex all of them over one
    // master connection, something no real fleet allows.
    ANSIBLE_SSH_ARGS: `-o ControlMaster=no -o ControlPersist=no -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${path.join(dir, 'known_hosts')} -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes`,
  };
}

function exitZero(r) {
  return r.code === 0;
}

function count(text, needle) {
  return text.split(needle).length - 1;
}

/** Runs one command under /usr/bin/time in its own process group; bounded by commandTimeoutMs. */
async function measure(c, dir) {
  const argv = c.prepare ? await c.prepare() : c.argv;
  await waitForIdleSshd();
  const timeFile = path.join(dir, 'time.out');
  await rm(timeFile, { force: true });
  const serverBefore = await treeCpuSeconds(sshd.pid);
  const startedAt = Date.now();
  const started = process.hrtime.bigint();
  const r = await runGroup(
    ['/usr/bin/time', '-f', '%e %U %S %M', '-o', timeFile, ...argv.map(String)],
    {
      cwd: dir,
      env: cleanEnv(c.env),
    },
  );
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.timedOut) {
    throw new Error(`${c.tool} on ${c.n} hosts did not finish in ${commandTimeoutMs / 1000} s`);
  }
  // A failed run is a result too (reported with its reason, left out of the medians); only a
  // tool that fails without a recognisable reason stops the benchmark.
  const failure = c.ok(r) ? undefined : failureOf(c, r);
  const [, user, sys, maxKb] = (await readFile(timeFile, 'utf8'))
    .trim()
    .split('\n')
    .pop()
    .split(' ')
    .map(Number);
  await waitForIdleSshd();
  const server = (await treeCpuSeconds(sshd.pid)) - serverBefore;
  const sample = { wall, cpu: user + sys, user, sys, rssMb: maxKb / 1024, server, failure };
  const slowest = r.stdout.match(/slowest handshake ([\d.]+) s/)?.[1];
  if (slowest) sample.slowestHandshake = Number(slowest);
  if (c.prepare)
    sample.phases = await opsbookPhases(dir, `${r.stdout}${r.stderr}`, startedAt, wall);
  return sample;
}

/** Why a run failed, in a few words; throws when the output holds no known reason. */
function failureOf(c, r) {
  const output = `${r.stdout}\n${r.stderr}`;
  const handshake = count(output, 'did not complete the SSH handshake in time');
  if (handshake > 0) {
    const ok = (output.match(/^host-\d+ +ok /gm) ?? []).length;
    return `${handshake} of ${c.n} hosts unreachable: SSH handshake not complete within opsbook's 10 s connect timeout (${ok} ok)`;
  }
  throw new Error(
    `${c.tool} on ${c.n} hosts failed (exit ${r.code}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`,
  );
}

/**
 * CPU seconds used by sshd and every session it reaped (utime, stime, cutime, cstime of
 * /proc/PID/stat): the server's share of the two cores the clients also run on.
 */
async function treeCpuSeconds(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the comm field: state is fields[0], so utime..cstime (stat fields 14-17) are 11-14.
  const ticks = fields.slice(11, 15).reduce((a, b) => a + Number(b), 0);
  return ticks / CLOCK_TICKS;
}

/** Where an opsbook run's wall time went, from its journal's timestamps. */
async function opsbookPhases(dir, output, startedAt, wall) {
  const runId = output.match(/run (\S+) \w+ in /)?.[1];
  if (!runId) return undefined;
  const text = await readFile(path.join(dir, 'state', 'runs', `${runId}.jsonl`), 'utf8');
  const events = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const at = (e) => Date.parse(e.at);
  const runStart = at(events[0]);
  const runEnd = at(events[events.length - 1]);
  return {
    beforeRun: (runStart - startedAt) / 1000,
    hosts: (runEnd - runStart) / 1000,
    afterRun: wall - (runEnd - startedAt) / 1000,
  };
}

function runGroup(argv, options) {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), {
      ...options,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child.pid);
    const out = { stdout: '', stderr: '' };
    for (const stream of ['stdout', 'stderr']) {
      child[stream].setEncoding('utf8');
      child[stream].on('data', (t) => {
        if (out[stream].length < 5_000_000) out[stream] += t;
      });
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, commandTimeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      // The group may hold stragglers (an ssh that outlived pssh): stop them too.
      killGroup(child.pid);
      live.delete(child.pid);
      resolve({ ...out, code, timedOut });
    });
  });
}

/** Waits until sshd has no session processes left, so that one measurement does not pay for the last. */
async function waitForIdleSshd() {
  for (let i = 0; i < 200; i++) {
    if ((await descendantsOf(sshd.pid)).length === 0) return;
    await sleep(50);
  }
  throw new Error('sshd still has sessions 10 s after the last measurement ended');
}

/** One extra opsbook run at the largest size under `node --cpu-prof`, summarised by self time. */
async function profileOpsbook(world) {
  const profDir = process.env.BENCH_PROFILE_DIR ?? path.join(world.dir, 'profile');
  await mkdir(profDir, { recursive: true });
  const [node, ...args] = await world.approve({
    steps: 1,
    concurrency: ansibleForks,
    hosts: largest,
  });
  await waitForIdleSshd();
  const r = await runGroup([node, '--cpu-prof', `--cpu-prof-dir=${profDir}`, ...args], {
    cwd: world.dir,
    env: cleanEnv(),
  });
  if (r.code !== 0)
    throw new Error(`profiled opsbook run failed (exit ${r.code}): ${r.stderr.slice(-2000)}`);
  const name = (await readdir(profDir)).find((f) => f.endsWith('.cpuprofile'));
  const prof = JSON.parse(await readFile(path.join(profDir, name), 'utf8'));
  summariseProfile(prof, profDir);
}

function summariseProfile(prof, profDir) {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parentOf = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const self = new Map(); // node id -> µs
  for (let i = 0; i < prof.samples.length; i++) {
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
  }
  const byFunction = new Map();
  const byArea = new Map();
  const byOwner = new Map();
  let total = 0;
  const add = (m, k, us) => m.set(k, (m.get(k) ?? 0) + us);
  for (const [id, us] of self) {
    const f = byId.get(id).callFrame;
    add(byFunction, `${describe(f)}  ← ${describe(ownerFrame(id) ?? f)}`, us);
    add(byArea, areaOf(f), us);
    // Native and Node-core time is charged to the nearest opsbook or dependency frame that called it.
    const owner = ownerFrame(id);
    add(byOwner, owner ? areaOf(owner) : areaOf(f), us);
    total += us;
  }
  function ownerFrame(id) {
    for (let at = id, depth = 0; at !== undefined && depth < 200; at = parentOf.get(at), depth++) {
      const frame = byId.get(at).callFrame;
      if (/node_modules|packages\//.test(frame.url)) return frame;
    }
    return undefined;
  }
  const top = (m, k) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k);
  const print = (title, m, k) => {
    console.log(title);
    for (const [a, us] of top(m, k))
      console.log(
        `  ${(us / 1000).toFixed(0).padStart(6)} ms  ${((100 * us) / total).toFixed(1).padStart(5)} %  ${a}`,
      );
  };
  console.log(
    `\nCPU profile of one opsbook run on ${largest} hosts, ${ansibleForks} in parallel (${(total / 1000).toFixed(0)} ms of wall time sampled; ${profDir}):`,
  );
  print('by area (self time):', byArea, 12);
  print(
    'by owner (self time, native and Node-core time charged to the opsbook or dependency code that called it):',
    byOwner,
    12,
  );
  print('top functions (self time ← owning frame):', byFunction, 25);
}

function describe(f) {
  const where = f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : '(native)';
  return `${f.functionName || '(anonymous)'} ${where}`;
}

function shortUrl(url) {
  const file = url.replace('file://', '');
  const at = file.search(/node_modules\/\.pnpm\/|packages\//);
  return at >= 0
    ? file.slice(at).replace(/^node_modules\/\.pnpm\/[^/]+\/node_modules\//, '')
    : file;
}

function areaOf(frame) {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : `(native) ${functionName}`;
  const m = url.match(/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/);
  if (m) return `dependency ${m[1]}`;
  const pkg = url.match(/packages\/([^/]+)\//);
  if (pkg) return `@opsbook/${pkg[1]}`;
  if (url.startsWith('node:')) return `node core ${url.slice(5).split('/')[0]}`;
  return url;
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function report(world, cases) {
  const good = (c) => c.samples.filter((s) => !s.failure);
  const mid = (c, pick) => (good(c).length > 0 ? median(good(c).map(pick)) : Number.NaN);
  const rows = cases.map((c) => ({
    ...c,
    failures: c.samples.filter((s) => s.failure).map((s) => s.failure),
    execs: c.execs ?? 1,
    wall: mid(c, (s) => s.wall),
    cpu: mid(c, (s) => s.cpu),
    rss: mid(c, (s) => s.rssMb),
    server: mid(c, (s) => s.server),
  }));
  const isOpsbook = (r) => r.tool.startsWith('opsbook run');
  // Each row is compared with the opsbook run of the same hosts, parallelism and commands per host.
  const opsbookFor = (r) =>
    rows.find(
      (o) => isOpsbook(o) && o.n === r.n && o.execs === r.execs && o.concurrency === r.concurrency,
    );
  console.log(
    '\n| hosts | parallel | tool | wall (s) | client CPU user+sys (s) | client CPU / host (ms) | peak RSS (MB) | sshd CPU (s) | opsbook wall ÷ this |',
  );
  console.log('|---:|---:|---|---:|---:|---:|---:|---:|---:|');
  const fmt = (x, digits) => (Number.isNaN(x) ? '—' : x.toFixed(digits));
  for (const r of rows) {
    const ops = opsbookFor(r);
    const ratio =
      ops && !isOpsbook(r) && !Number.isNaN(ops.wall) ? `${fmt(ops.wall / r.wall, 2)}×` : '';
    const failed = r.failures.length
      ? ` (${r.failures.length} of ${r.samples.length} runs failed)`
      : '';
    console.log(
      `| ${r.n} | ${r.concurrency} | ${r.tool}${failed} | ${fmt(r.wall, 2)} | ${fmt(r.cpu, 2)} | ${fmt((1000 * r.cpu) / r.n, 1)} | ${fmt(r.rss, 0)} | ${fmt(r.server, 1)} | ${ratio} |`,
    );
  }
  console.log(
    `\nmedian of the successful runs of ${runs} each; node ${process.version}; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; ${(totalmem() / 2 ** 30).toFixed(0)} GiB; sshd on 127.0.0.1:${world.port}`,
  );
  const phased = rows.filter((r) => r.samples.some((s) => s.phases));
  if (phased.length > 0) {
    console.log(
      '\nwhere opsbook run spends its wall time (from its journal; medians of all runs, s):',
    );
    console.log(
      '| hosts | parallel | run | before run-start | run-start → run-end | after run-end |',
    );
    console.log('|---:|---:|---|---:|---:|---:|');
    for (const r of phased) {
      const p = (k) => median(r.samples.map((s) => s.phases?.[k] ?? 0)).toFixed(2);
      console.log(
        `| ${r.n} | ${r.concurrency} | ${r.tool} | ${p('beforeRun')} | ${p('hosts')} | ${p('afterRun')} |`,
      );
    }
  }
  for (const r of rows.filter((x) => x.failures.length > 0)) {
    console.log(`\n${r.tool} on ${r.n} hosts at ${r.concurrency} in parallel, failed runs:`);
    for (const f of r.failures) console.log(`  - ${f}`);
  }
  reportTargets(rows, isOpsbook);
}

function reportTargets(rows, isOpsbook) {
  console.log('\ntargets (issue 4):');
  const show = (label, value, limit, unit) =>
    console.log(
      `  ${Number.isNaN(value) ? 'no data' : value <= limit ? 'met    ' : 'NOT met'}  ${label}: ${Number.isNaN(value) ? '—' : value.toFixed(2)}${unit}`,
    );
  const parallels = [...new Set(rows.filter((r) => r.n === largest).map((r) => r.concurrency))];
  for (const parallel of parallels) {
    const ops = rows.find(
      (r) => r.tool === 'opsbook run' && r.n === largest && r.concurrency === parallel,
    );
    if (!ops) continue;
    const other = (prefix) =>
      rows.find(
        (r) =>
          r.n === largest &&
          r.execs === 1 &&
          r.tool.startsWith(prefix) &&
          r.concurrency === parallel,
      ) ?? rows.find((r) => r.n === largest && r.execs === 1 && r.tool.startsWith(prefix));
    const at = `${largest} hosts, opsbook at ${parallel} in parallel`;
    for (const [prefix, limit] of [
      ['bare ssh2 loop', 1.2],
      ['parallel-ssh', 0.3],
      ['ansible', 0.5],
    ]) {
      const o = other(prefix);
      if (o)
        show(
          `wall ≤ ${limit}× ${prefix} (${o.concurrency} in parallel), ${at}`,
          ops.wall / o.wall,
          limit,
          '×',
        );
    }
    show(`client CPU ≤ 10 ms/host, ${at}`, (1000 * ops.cpu) / ops.n, 10, ' ms');
  }
  const mem = rows.find((r) => r.memory);
  if (mem)
    show(
      `peak RSS ≤ 150 MB at ${mem.n} hosts (${mem.concurrency} in parallel)`,
      mem.rss,
      150,
      ' MB',
    );
  const five = rows.find((r) => isOpsbook(r) && r.execs === 5);
  const one =
    five &&
    rows.find(
      (r) => r.tool === 'opsbook run' && r.n === five.n && r.concurrency === five.concurrency,
    );
  if (five && one) {
    console.log(
      `  5-step vs 1-step at ${five.n} hosts (${five.concurrency} in parallel): wall ${(five.wall / one.wall).toFixed(2)}×, client CPU ${(five.cpu / one.cpu).toFixed(2)}× (+${(((five.wall - one.wall) * 1000) / 4).toFixed(0)} ms wall per extra step)`,
    );
  }
}

function check(r, what) {
  if (r.error || r.status !== 0) {
    throw new Error(
      `${what} failed (exit ${r.status}): ${r.error?.message ?? ''}${r.stdout ?? ''}${r.stderr ?? ''}`,
    );
  }
  return r;
}

function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
}

async function killTree(pid) {
  for (const p of [pid, ...(await descendantsOf(pid))]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  live.delete(pid);
}

async function descendantsOf(rootPid) {
  const parents = new Map();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // The comm field may hold spaces and parentheses: the ppid follows the LAST ')'.
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (after[1]) parents.set(Number(entry), Number(after[1]));
  }
  const found = [];
  let frontier = [rootPid];
  for (let depth = 0; depth < 32 && frontier.length > 0; depth++) {
    const next = [...parents].filter(([, ppid]) => frontier.includes(ppid)).map(([p]) => p);
    found.push(...next);
    frontier = next;
  }
  return found;
}

async function cleanUp() {
  for (const pid of live) killGroup(pid);
  if (sshd) {
    await killTree(sshd.pid);
    await new Promise((r) =>
      sshd.child.exitCode !== null || sshd.child.signalCode !== null
        ? r()
        : sshd.child.once('exit', r),
    );
  }
  if (wroteAuthorizedKeys)
    await rm(path.join(userHome, '.ssh', 'authorized_keys'), { force: true });
  if (createdUser) spawnSync('userdel', ['--remove', USER]);
  if (work) await rm(work, { recursive: true, force: true });
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
