// The world the SSH benchmarks run in (fanout.mjs, inspect.mjs): ONE real OpenSSH sshd on
// 127.0.0.1 (ephemeral port, MaxStartups raised, sftp on) behind host aliases host-0001…, or on
// `addresses` loopback addresses 127.0.0.1…127.0.0.N (one listen queue and known_hosts line
// each, host i on address i mod N, as a fleet has many servers), logged
// into as a dedicated user `opsbench` whose shell is /bin/sh (root's .bashrc runs `pyenv init`,
// ~3 s, which no tool should be measured paying); strict known_hosts for every tool; inventories
// and an ssh_config for the aliases; Ansible settings (pipelining, ControlMaster=no); and
// opsbook's untimed approval setup (demo-style senior key, trust store, local tracker).
// closeBenchWorld stops what it started by PID and removes the temp dir, the authorized_keys it
// wrote and the user (when it created it).
import { spawn, spawnSync } from 'node:child_process';
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
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeDemoPeople, writeDemoWorkspace } from '../demo-workspace.mjs';
import { cgroupFor } from './bench-cgroup.mjs';
import { check, cleanEnv, killGroup, killTree, live, sleep } from './bench-processes.mjs';

export const root = path.resolve(import.meta.dirname, '../..');
export const USER = 'opsbench';
const DEFAULT_HOME = '/var/lib/opsbench';

/** What closeBenchWorld must undo. */
const opened = { work: undefined, sshd: undefined, createdUser: false, authorizedKeys: undefined };

/**
 * Builds the world in a fresh temp dir: a snapshot of the built packages, the user, keys, sshd,
 * an inventory and a host list per count in `hostCounts`, an ssh_config and opsbook's trust.
 * `tools` are extra [file, Debian package] pairs the benchmark needs.
 */
export async function openBenchWorld({ name, hostCounts, tools = [], addresses: count = 1 }) {
  // sshd listens on at most 16 addresses (MAX_LISTEN_SOCKS).
  const addresses = Array.from(
    { length: Math.min(16, Math.max(1, count)) },
    (_, i) => `127.0.0.${i + 1}`,
  );
  preflight(name, tools);
  const dir = await mkdtemp(path.join(tmpdir(), `opsbook-bench-${name}-`));
  opened.work = dir;
  const { build, bin } = await snapshotBuild(dir);
  const userHome = await ensureUser();
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  const clientKey = path.join(dir, 'client_key');
  for (const f of [hostKey, clientKey]) {
    check(
      spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'opsbook-bench', '-f', f]),
      'ssh-keygen',
    );
  }
  // A key file of this world's own (named after its temp dir), which only its sshd reads: two
  // benchmarks run at once by different people must not replace or remove each other's key.
  const keysName = `authorized_keys.${path.basename(dir)}`;
  await installAuthorizedKey(
    userHome,
    keysName,
    `${(await readFile(`${clientKey}.pub`, 'utf8')).trim()}\n`,
  );
  const [type, hostBlob] = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/);
  const sshd = await startSshd(dir, hostKey, addresses, keysName);
  opened.sshd = sshd;
  const { port } = sshd;
  await writeFile(
    path.join(dir, 'known_hosts'),
    addresses.map((a) => `[${a}]:${port} ${type} ${hostBlob}\n`).join(''),
  );
  await writeHostLists(dir, { port, clientKey, addresses }, [...new Set(hostCounts)]);
  const ansibleHome = path.join(dir, 'ansible');
  await mkdir(ansibleHome, { recursive: true });
  const world = { dir, build, bin, port, addresses, clientKey, hostBlob, sshd, ansibleHome };
  world.opsbook = (args) => runOpsbook(world, args);
  Object.assign(world, await prepareOpsbook(world));
  return world;
}

function preflight(name, tools) {
  const missing = [];
  if (process.getuid?.() !== 0) missing.push('root (to create the opsbench user and start sshd)');
  for (const [file, pkg] of [
    ['/usr/sbin/sshd', 'openssh-server'],
    ['/usr/bin/ssh-keygen', 'openssh-client'],
    ['/usr/bin/python3', 'python3'],
    ...tools,
  ]) {
    if (!existsSync(file)) missing.push(`${file} (Debian package ${pkg})`);
  }
  const cli = path.join(root, 'packages/cli/dist/bin.js');
  if (!existsSync(cli)) missing.push(`${cli} (run pnpm build)`);
  if (missing.length > 0) {
    throw new Error(
      `${name} benchmark cannot start, missing: ${missing.join(', ')}. scripts/setup-test-host.sh installs the packages.`,
    );
  }
}

/**
 * Copies every package's built dist (and its node_modules links) into the temp dir, so that a
 * rebuild of the checkout during the long run cannot swap or delete the code being measured.
 */
async function snapshotBuild(dir) {
  const build = path.join(dir, 'build');
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
  return { build, bin: path.join(build, 'packages/cli/dist/bin.js') };
}

/** Creates the user when missing; returns its home. */
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
    opened.createdUser = true;
  }
  const entry = spawnSync('getent', ['passwd', USER], { encoding: 'utf8' })
    .stdout.trim()
    .split(':');
  if (entry[6] !== '/bin/sh')
    throw new Error(
      `user ${USER} exists with shell ${entry[6]}: the benchmark needs /bin/sh (no profile to measure)`,
    );
  return entry[5] || DEFAULT_HOME;
}

/** authorized_keys in the user's home: sshd reads it as that user, so a root-only temp dir would not do. */
async function installAuthorizedKey(userHome, name, line) {
  const sshDir = path.join(userHome, '.ssh');
  await mkdir(sshDir, { recursive: true, mode: 0o700 });
  const uid = Number(spawnSync('id', ['-u', USER], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', USER], { encoding: 'utf8' }).stdout.trim());
  const file = path.join(sshDir, name);
  await writeFile(file, line, { mode: 0o600 });
  opened.authorizedKeys = file;
  await chown(userHome, uid, gid);
  await chown(sshDir, uid, gid);
  await chown(file, uid, gid);
}

async function startSshd(dir, hostKey, addresses, keysName) {
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  let lastError;
  // Another process may take the port between the probe and sshd's bind: a few tries.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    await writeFile(
      path.join(dir, 'sshd_config'),
      sshdConfig(dir, hostKey, port, addresses, keysName),
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
    // Before sshd accepts anything, so that every session process is counted (bench-cgroup.mjs).
    const cgroup = await cgroupFor(child.pid, `opsbook-bench-${path.basename(dir)}`);
    if (await waitForBanner(addresses.at(-1), port, child))
      return { pid: child.pid, port, child, cgroup, log: () => log };
    await killTree(child.pid);
    await cgroup?.remove();
    lastError = new Error(
      `sshd on ${addresses.join(', ')} port ${port} did not start; its log:\n${log}`,
    );
    if (!log.includes('Address already in use')) break;
  }
  throw lastError;
}

function sshdConfig(dir, hostKey, port, addresses, keysName) {
  return [
    ...addresses.map((a) => `ListenAddress ${a}:${port}`),
    `HostKey ${hostKey}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile .ssh/${keysName}`,
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
  ].join('\n');
}

async function waitForBanner(address, port, child) {
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    const banner = await new Promise((resolve) => {
      const s = connect(port, address);
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

/**
 * inventory-N.ini (Ansible and opsbook), hosts-N.txt (parallel-ssh) and one ssh_config for all
 * aliases; host i (from 0) is on address i mod the address count.
 */
async function writeHostLists(dir, { port, clientKey, addresses }, counts) {
  const width = Math.max(4, String(Math.max(...counts)).length);
  const names = (n) =>
    Array.from({ length: n }, (_, i) => `host-${String(i + 1).padStart(width, '0')}`);
  const addressOf = (i) => addresses[i % addresses.length];
  for (const n of counts) {
    const lines = names(n).map(
      (h, i) =>
        `${h} ansible_host=${addressOf(i)} ansible_port=${port} ansible_user=${USER} ansible_ssh_private_key_file=${clientKey} ansible_python_interpreter=/usr/bin/python3`,
    );
    await writeFile(path.join(dir, `inventory-${n}.ini`), `[bench]\n${lines.join('\n')}\n`);
    // parallel-ssh names its hosts by the ssh_config aliases below.
    await writeFile(path.join(dir, `hosts-${n}.txt`), `${names(n).join('\n')}\n`);
  }
  const largest = names(Math.max(...counts));
  const perHost =
    addresses.length === 1
      ? ['Host host-*', `  HostName ${addresses[0]}`]
      : largest.flatMap((h, i) => [`Host ${h}`, `  HostName ${addressOf(i)}`]);
  await writeFile(
    path.join(dir, 'ssh_config'),
    [
      ...perHost,
      'Host host-*',
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
}

/**
 * A demo senior key and trust store (as scripts/demo.mjs) and a local tracker; returns
 * `approve({runbook, hosts, summary})`, which signs one approval of a runbook under
 * <dir>/runbooks on inventory-<hosts>.ini and returns the argv of its `opsbook run --quiet`,
 * and `approveInFreshState({runbook, hosts, summary})`, the same in a state folder of its own
 * (ledger, tracker, journal: a run on an empty state), returning `{argv, stateDir}` of a plain
 * `opsbook run` (what a user types: step results printed, no --quiet).
 */
async function prepareOpsbook(world) {
  const { dir, build } = world;
  // From the snapshot, by path (not `@opsbook/approval`, which is the live checkout): the code
  // that signs is the code being measured, whatever is rebuilt meanwhile. The engineer who runs:
  // a run is signed by its executor's listed key (run claim).
  const [senior, engineer] = await makeDemoPeople(
    dir,
    await import(path.join(build, 'packages/approval/dist/index.js')),
    [
      ['bench-senior', 'Bench Senior', 'senior'],
      ['bench-engineer', 'Bench Engineer', 'engineer'],
    ],
  );
  const keyFile = senior.keyFile;
  const runnerKeyFile = engineer.keyFile;
  await writeDemoWorkspace(dir, [senior, engineer], {
    runbooks: 'runbooks',
    knownHosts: path.join(dir, 'known_hosts'),
  });
  // The machine pin would be /etc/opsbook/trust; the bench keeps its own in its folder.
  process.env.OPSBOOK_TRUST_DIR = path.join(dir, 'trust-pin');
  runOpsbook(world, ['trust', 'init']);
  // The snapshot's tracker too, by path for the same reason.
  const { LocalTracker } = await import(path.join(build, 'packages/tracker/dist/index.js'));
  const tracker = new LocalTracker({ stateDir: path.join(dir, 'state'), actor: 'bench-senior' });
  // A run moves its ticket to In Review, so every measured run gets its own ticket (untimed).
  const approveIn = async (tracker, folder, { runbook, hosts, summary }, config = []) => {
    const { key } = await tracker.create({ summary, grade: 'P4' });
    await tracker.transition(key, tracker.statuses.awaitingApproval);
    await tracker.transition(key, tracker.statuses.approved);
    const file = path.join(folder, `${key}.approval.json`);
    const inventory = path.join(dir, `inventory-${hosts}.ini`);
    // The engineer proposes (a plan is signed by its proposer's listed key), the senior approves.
    runOpsbook(world, [
      'plan',
      ...config,
      runbook,
      '--ticket',
      key,
      '-i',
      inventory,
      '-o',
      file,
      '--key',
      runnerKeyFile,
    ]);
    runOpsbook(world, ['approve', ...config, file, '--key', keyFile, '-i', inventory]);
    return [
      process.execPath,
      world.bin,
      'run',
      ...config,
      file,
      '-i',
      inventory,
      '--key',
      runnerKeyFile,
    ];
  };
  let fresh = 0;
  return {
    approve: async (what) => [...(await approveIn(tracker, dir, what)), '--quiet'],
    async approveInFreshState(what) {
      const folder = path.join(dir, 'fresh-states', String(++fresh));
      await mkdir(folder, { recursive: true });
      const config = path.join(folder, 'opsbook.yaml');
      await writeFile(
        config,
        [
          'apiVersion: opsbook/v1',
          'kind: Config',
          `runbooks: ${path.join(dir, 'runbooks')}`,
          'stateDir: state',
          `trustStore: ${path.join(dir, 'approvers.yaml')}`,
          `knownHosts: ${path.join(dir, 'known_hosts')}`,
          'tracker: {kind: local}',
          '',
        ].join('\n'),
      );
      const stateDir = path.join(folder, 'state');
      const own = new LocalTracker({ stateDir, actor: 'bench-senior' });
      const argv = await approveIn(own, folder, what, ['--config', config]);
      return { argv, stateDir, folder };
    },
  };
}

function runOpsbook(world, args) {
  return check(
    spawnSync(process.execPath, [world.bin, ...args], {
      cwd: world.dir,
      encoding: 'utf8',
      env: cleanEnv(),
    }),
    `opsbook ${args.join(' ')}`,
  );
}

/**
 * The fan-out benchmarks' runbook `<dir>/runbooks/<name>`: `steps` steps that each run `command`
 * on every host, at `concurrency`.
 */
export async function writeFanoutRunbook(dir, name, { steps, concurrency, command }) {
  const folder = path.join(dir, 'runbooks', name);
  await mkdir(folder, { recursive: true });
  await writeFile(
    path.join(folder, 'package.json'),
    JSON.stringify({ name: `@runbooks/${name}`, version: '1.0.0', private: true }),
  );
  const stepLines = Array.from(
    { length: steps },
    (_, i) => `    - id: s${i + 1}\n      name: step ${i + 1}\n      run: "${command}"`,
  );
  await writeFile(
    path.join(folder, 'runbook.yaml'),
    `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: ${name}
  title: Fan-out benchmark, ${steps} step(s) at concurrency ${concurrency}
  category: routine
  grade: P4
  owners: [bench]
spec:
  targets: {default: all, concurrency: ${concurrency}, maxFailures: 0}
  steps:
${stepLines.join('\n')}
`,
  );
}

/** Ansible as the other tools: pipelining, strict host keys, one connection per host and task. */
export function ansibleEnv(world) {
  return {
    ANSIBLE_HOME: world.ansibleHome,
    ANSIBLE_LOCAL_TEMP: path.join(world.ansibleHome, 'tmp'),
    ANSIBLE_PIPELINING: '1',
    ANSIBLE_HOST_KEY_CHECKING: 'True',
    ANSIBLE_GATHERING: 'explicit',
    ANSIBLE_RETRY_FILES_ENABLED: '0',
    ANSIBLE_NOCOLOR: '1',
    // One connection per host, as the other tools: every alias has the same address, port and
    // user, so Ansible's default ControlPath (%C) would otherwise multiplex all of them over one
    // master connection, something no real fleet allows.
    ANSIBLE_SSH_ARGS: `-o ControlMaster=no -o ControlPersist=no -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${path.join(world.dir, 'known_hosts')} -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes`,
  };
}

/** Stops sshd and every tracked process by PID; removes the temp dir, the key it wrote and the user it created. */
export async function closeBenchWorld() {
  for (const pid of live) killGroup(pid);
  const { sshd } = opened;
  if (sshd) {
    await killTree(sshd.pid);
    await new Promise((r) =>
      sshd.child.exitCode !== null || sshd.child.signalCode !== null
        ? r()
        : sshd.child.once('exit', r),
    );
    await sshd.cgroup?.remove();
  }
  if (opened.authorizedKeys) await rm(opened.authorizedKeys, { force: true });
  // The user goes only when no other benchmark still has a key file in its home.
  if (opened.createdUser && !(await othersKeys(opened.authorizedKeys)))
    spawnSync('userdel', ['--remove', USER]);
  // BENCH_KEEP_DIR=1 keeps the temp dir (inventories, approvals, keys) for a look afterwards.
  if (opened.work && process.env.BENCH_KEEP_DIR === '1') console.error(`kept ${opened.work}`);
  else if (opened.work) await rm(opened.work, { recursive: true, force: true });
}

/** Whether another world's key file is in the folder of `ours` (a benchmark still running). */
async function othersKeys(ours) {
  if (!ours) return false;
  const names = await readdir(path.dirname(ours)).catch(() => []);
  return names.some((n) => n.startsWith('authorized_keys.'));
}
