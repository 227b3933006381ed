#!/usr/bin/env node
// Fan-out cost of `opsbook run` (issue 4): one command on 50 and 200 hosts, in the same run, for
//   opsbook run        plan + approve first (demo-style senior key), then ONLY the run is timed
//   bare ssh2 loop     connect + exec + close in Node, same concurrency: the floor for a Node runner
//   parallel-ssh -p N  one OpenSSH client process per host
//   ansible -f 50      -m command with pipelining
// at N in parallel; then at 200 hosts the same at Ansible's parallelism (50, BENCH_ANSIBLE_FORKS),
// a 5-step vs a 1-step runbook (plus a bare loop of 5 execs on one connection), and opsbook's
// peak RSS on 1,000 hosts. Results and their reading: BENCHMARKS.md.
//
// Every "host" is an alias of ONE real OpenSSH sshd on 127.0.0.1 (ephemeral port, MaxStartups
// raised, sftp on), logged into as a dedicated user `opsbench` whose shell is /bin/sh, so no
// profile script (root's .bashrc runs `pyenv init`, ~3 s) is measured. Each measurement is a
// fresh process under /usr/bin/time (wall, user+sys of the process tree, peak RSS of its
// largest process); BENCH_RUNS rounds (default 3), interleaved, median reported.
// Needs root (creates the user, starts sshd). Everything it starts is stopped by PID; the temp
// dir, the authorized_keys it wrote and the user (when it created it) are removed at the end.
// The world (sshd, user, aliases, trust) is bench-world.mjs, shared with inspect.mjs.
//
// Also recorded: sshd's own CPU (server and clients share the cores), and where opsbook's wall
// time goes (before run-start, hosts, after run-end, from its journal).
//
//   node scripts/bench/fanout.mjs                 full run (~1 h on 2 busy cores, half of it Ansible)
//   BENCH_RUNS=1 BENCH_SIZES=50 BENCH_MEMORY_HOSTS=0 BENCH_STEPS=0 node scripts/bench/fanout.mjs
//   BENCH_TOOLS=opsbook,ssh2 …                    only the tools whose names contain these words
//   BENCH_PROFILE=1 …                             adds one `node --cpu-prof` opsbook run and bare loop, summarised
//   BENCH_TIMEOUT_S=1200 …                        per-command limit (default 600 s)
//   BENCH_BASELINE_BUILD=/tmp/base[,/tmp/b2] …    also runs every opsbook case with older builds
//                                                 (a copy of packages/*/{package.json,dist,node_modules}
//                                                 plus a node_modules link, as bench-world snapshots it),
//                                                 interleaved, for before/after comparisons
//   BENCH_PARALLEL=50 …                           only the cases at this parallelism
//   BENCH_CONNECT_TIMEOUT_S=60 …                  ansible_timeout in the inventories (opsbook and
//                                                 Ansible; default unset = their 10 s). The bare
//                                                 loop waits up to 60 s for a handshake.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { count, describeSample, measure, median, waitForIdleSshd } from './bench-measure.mjs';
import { cleanEnv, isStopping, runGroup, stopOnSignals } from './bench-processes.mjs';
import {
  ansibleEnv,
  closeBenchWorld,
  openBenchWorld,
  USER,
  writeFanoutRunbook,
} from './bench-world.mjs';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const sizes = (process.env.BENCH_SIZES ?? '50,200').split(',').map(Number);
const memoryHosts = Number(process.env.BENCH_MEMORY_HOSTS ?? 1000);
const withSteps = process.env.BENCH_STEPS !== '0';
const profile = process.env.BENCH_PROFILE === '1';
const ansibleForks = Number(process.env.BENCH_ANSIBLE_FORKS ?? 50);
const commandTimeoutMs = Number(process.env.BENCH_TIMEOUT_S ?? 600) * 1000;
const connectTimeoutS = process.env.BENCH_CONNECT_TIMEOUT_S;
const COMMAND = 'true';
const largest = Math.max(...sizes);
const baselineBuilds = process.env.BENCH_BASELINE_BUILD?.split(',').filter(Boolean) ?? [];
const onlyParallel = process.env.BENCH_PARALLEL ? Number(process.env.BENCH_PARALLEL) : undefined;

stopOnSignals();
try {
  const world = await openBenchWorld({
    name: 'fanout',
    hostCounts: [...sizes, ...(memoryHosts > 0 ? [memoryHosts] : [])],
    tools: [
      ['/usr/bin/parallel-ssh', 'pssh'],
      ['/usr/bin/ansible', 'ansible'],
    ],
  });
  await prepareFanout(world);
  const results = await measureAll(world);
  report(world, results);
} finally {
  await closeBenchWorld();
}

/** The fan-out runbooks' approvals: `approve({steps, concurrency, hosts})`. */
async function prepareFanout(world) {
  if (connectTimeoutS !== undefined) {
    // Before any plan: the timeout is a connection var, so it is part of the approved plan.
    for (const n of [...sizes, ...(memoryHosts > 0 ? [memoryHosts] : [])]) {
      const file = path.join(world.dir, `inventory-${n}.ini`);
      const text = await readFile(file, 'utf8');
      await writeFile(file, `${text}[bench:vars]\nansible_timeout=${Number(connectTimeoutS)}\n`);
    }
  }
  const approveRunbook = world.approve;
  world.approve = async ({ steps, concurrency, hosts }) => {
    const name = `bench-${steps}step-c${concurrency}`;
    if (!existsSync(path.join(world.dir, 'runbooks', name)))
      await writeFanoutRunbook(world.dir, name, { steps, concurrency, command: COMMAND });
    return approveRunbook({
      runbook: name,
      hosts,
      summary: `fan-out benchmark: ${name} on ${hosts} hosts`,
    });
  };
}

/** The floor: a Node process doing only connect + exec + close with ssh2, `concurrency` at a time. */
async function writeFloorScript(dir, build) {
  const file = path.join(dir, 'ssh2-floor.mjs');
  await writeFile(
    file,
    `import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const { Client } = createRequire(${JSON.stringify(path.join(build, 'packages/exec/package.json'))})('ssh2');
// {port, keyFile, hostKey, hosts, concurrency, user, command, execs}
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
}));
let slowest = 0;
const one = () => new Promise((resolve, reject) => {
  const c = new Client();
  const started = Date.now();
  c.on('error', reject);
  // As opsbook does: small request/response exchanges without Nagle's delay.
  c.once('connect', () => c.setNoDelay(true));
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

/**
 * The same opsbook case run by a baseline build's CLI (plan and approval made as usual). A path:
 * an older build is a folder (BENCH_BASELINE_BUILD), not a package the workspace resolves.
 */
function baselineCase(c, world, build) {
  const bin = path.join(build, 'packages/cli/dist/bin.js');
  const label = baselineBuilds.length > 1 ? path.basename(build) : 'baseline build';
  return {
    ...c,
    tool: `${c.tool} (${label})`,
    prepare: async () => (await c.prepare()).map((a) => (a === world.bin ? bin : a)),
  };
}

/** The bare loop as a measured case: `execs` commands per connection. */
function floorCase({ world, floor }, n, concurrency, { execs = 1 } = {}) {
  const options = {
    port: world.port,
    keyFile: world.clientKey,
    hostKey: world.hostBlob,
    hosts: n,
    concurrency,
    user: USER,
    command: COMMAND,
    execs,
  };
  return {
    n,
    concurrency,
    execs,
    tool: `bare ssh2 loop${execs > 1 ? `, ${execs} execs` : ''}`,
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

function ansibleCase({ world, dir }, n) {
  const inventory = path.join(dir, `inventory-${n}.ini`);
  return {
    n,
    concurrency: ansibleForks,
    tool: 'ansible -m command, pipelining',
    argv: ['ansible', 'all', '-i', inventory, '-m', 'command', '-a', COMMAND, '-f', ansibleForks],
    env: ansibleEnv(world),
    ok: (r) => r.code === 0 && count(r.stdout, '| CHANGED') === n,
  };
}

async function measureAll(world) {
  const { dir } = world;
  const floor = await writeFloorScript(dir, world.build);
  const kit = { world, floor, dir };
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
      // What 5 commands on one connection cost without a runner, one SSH session each (opsbook
      // runs its 5 steps through one step session: packages/exec README).
      floorCase(kit, largest, even, { execs: 5 }),
    );
  }
  if (memoryHosts > 0) cases.push({ ...opsbookCase(kit, memoryHosts, even), memory: true });
  // BENCH_TOOLS=opsbook,ssh2 (words matched against the tool names) measures only those, for quick iterations.
  const only = process.env.BENCH_TOOLS?.split(',');
  if (only)
    cases.splice(0, cases.length, ...cases.filter((c) => only.some((w) => c.tool.includes(w))));
  if (onlyParallel !== undefined)
    cases.splice(0, cases.length, ...cases.filter((c) => c.concurrency === onlyParallel));
  for (let i = cases.length - 1; i >= 0; i--) {
    if (!cases[i].prepare) continue;
    cases.splice(i + 1, 0, ...baselineBuilds.map((b) => baselineCase(cases[i], world, b)));
  }
  for (const c of cases) c.samples = [];
  // Rounds interleave the tools so that a slow phase of the machine does not land on one tool.
  for (let round = 1; round <= runs; round++) {
    for (const c of cases) {
      if (isStopping()) throw new Error('interrupted');
      const s = await measure(c, world, commandTimeoutMs);
      c.samples.push(s);
      console.error(describeSample(c, s, round, runs));
    }
  }
  if (profile) {
    await profileOpsbook(world);
    await profileFloor(world, kit);
  }
  return cases;
}

/** The bare loop under `node --cpu-prof` at the same size and parallelism, for comparison. */
async function profileFloor(world, kit) {
  const parent = process.env.BENCH_PROFILE_DIR ?? path.join(world.dir, 'profile');
  const profDir = path.join(parent, 'floor');
  await mkdir(profDir, { recursive: true });
  const [node, ...args] = floorCase(kit, largest, ansibleForks).argv;
  await waitForIdleSshd(world.sshd);
  const r = await runGroup(
    [node, '--cpu-prof', `--cpu-prof-dir=${profDir}`, ...args],
    { cwd: world.dir, env: cleanEnv() },
    commandTimeoutMs,
  );
  if (r.code !== 0) throw new Error(`profiled bare loop failed (exit ${r.code}): ${r.stderr}`);
  const name = (await readdir(profDir)).find((f) => f.endsWith('.cpuprofile'));
  summariseProfile(
    JSON.parse(await readFile(path.join(profDir, name), 'utf8')),
    profDir,
    'bare ssh2 loop',
  );
}

function exitZero(r) {
  return r.code === 0;
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
  await waitForIdleSshd(world.sshd);
  const r = await runGroup(
    [node, '--cpu-prof', `--cpu-prof-dir=${profDir}`, ...args],
    { cwd: world.dir, env: cleanEnv() },
    commandTimeoutMs,
  );
  if (r.code !== 0)
    throw new Error(`profiled opsbook run failed (exit ${r.code}): ${r.stderr.slice(-2000)}`);
  const name = (await readdir(profDir)).find((f) => f.endsWith('.cpuprofile'));
  const prof = JSON.parse(await readFile(path.join(profDir, name), 'utf8'));
  summariseProfile(prof, profDir);
}

function summariseProfile(prof, profDir, what = 'opsbook run') {
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
    `\nCPU profile of one ${what} on ${largest} hosts, ${ansibleForks} in parallel (${(total / 1000).toFixed(0)} ms of wall time sampled; ${profDir}):`,
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
