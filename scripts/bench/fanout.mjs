#!/usr/bin/env node
// Fan-out cost of `opsbook run` (issue 18, targets 1-4): one command on 50, 200 and 1,000 hosts,
// and 5,000 for memory, each size in the same rounds for
//   opsbook run        what a user types, through the built binary, on the product's defaults (no
//                      raised timeout), in a state folder of its own (ledger, tracker, journal);
//                      plan + approval are made first, untimed, then ONLY the run is timed
//   bare ssh2 loop     ssh2-floor.mjs: connect + exec + close in Node with the same library, key,
//                      timeouts and concurrency: the floor for a Node runner
//   step session floor the bare loop sending each host's command through opsbook's step session
//                      (ssh2-floor.mjs with `session`): what the host runs for opsbook, without
//                      the rest of opsbook; it splits a gap into the step session's host-side cost
//                      (its own ratio to the bare loop) and opsbook's client (opsbook ÷ it);
//                      loading the step session's module (~40 ms of CPU, @opsbook/schema with
//                      it) is timed apart and reported less, since the protocol does not need it
//   parallel-ssh -p N  (BENCH_TOOLS=…,parallel) one OpenSSH client process per host
//   ansible -f N       (BENCH_TOOLS=…,ansible) -m command with pipelining
// The two sides of each size run one after the other, their order alternating per round. Every
// sample notes the load average at its start, and, through first-connect-probe.cjs, when the
// process opened its first TCP connection: opsbook's fixed start-up cost before the first host
// (the bare loop's, Node's start and loading ssh2, is its floor). Each row gets PASS/FAIL per
// target at its own size: wall ≤ 1.1× and client CPU ≤ 1.1× the bare loop's (paired by round),
// first connection ≤ 0.3 s after the spawn, every host ok (no spurious timeout); the memory row
// peak RSS ≤ 200 MB. Results and their reading: BENCHMARKS.md.
//
// The world is bench-world.mjs: ONE real OpenSSH sshd listening on 16 loopback addresses
// (127.0.0.1-16, one listen queue and known_hosts line each, BENCH_ADDRESSES), every "host" an
// alias of one of them, logged into as a dedicated user `opsbench` whose shell is /bin/sh (no
// profile script measured); strict known_hosts for every tool. Each measurement is a fresh
// process under rusage.py (user+sys of the process tree to the microsecond, peak RSS of its
// largest process; GNU time, used until 2026-12-06 12:45 UTC, truncated CPU to 10 ms) and its
// wall time from the wrapper's fork of it to its exit; sshd's own CPU is recorded too (server and
// clients share the two cores). Needs root (creates the user, starts sshd). Everything it starts
// is stopped by PID; the temp dir, the authorized_keys it wrote and the user (when it created it)
// are removed at the end.
//
//   node scripts/bench/fanout.mjs                 50:50, 200:200, 1000:200 and 5000:200, 3 rounds
//   BENCH_SIZES=50:50,200:200 …                   hosts:parallel (a bare N is N:min(N, 200))
//   BENCH_MEMORY=5000:200 …                       the memory row (0: none), BENCH_MEMORY_RUNS rounds (default 1)
//   BENCH_RUNS=1 …                                rounds (default 3)
//   BENCH_TOOLS=opsbook,ssh2,session,parallel,ansible   the tools (default opsbook,ssh2,session)
//   BENCH_STEPS=5 …                               also an N-step runbook vs N execs per connection, at every size
//   BENCH_PROFILE=1 … (BENCH_PROFILE_INTERVAL=µs)    then one `node --cpu-prof --heap-prof` opsbook run and a
//                                                 --cpu-prof bare loop at the largest size, summarised
//   BENCH_BASELINE_BUILD=/tmp/base[,/tmp/b2] …    also runs every opsbook case with older builds (a
//                                                 checkout with packages/*/dist and node_modules, e.g.
//                                                 a built `git worktree`), in the same rounds
//   BENCH_TIMEOUT_S=1200 …                        per-command limit (default 600 s)
//   BENCH_INSTRUCTIONS=3 …                        then 3 rounds of every case under callgrind at
//                                                 BENCH_INSTRUCTIONS_SIZES (default 50:10): client
//                                                 instructions, which load does not move
//                                                 (fanout-instructions.mjs; BENCH_RUNS=0 for only these)
import { readdir, realpath, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { count, describeSample, measure, opsbookRunId, readJournal } from './bench-measure.mjs';
import { isStopping, stopOnSignals } from './bench-processes.mjs';
import {
  ansibleEnv,
  closeBenchWorld,
  openBenchWorld,
  USER,
  writeFanoutRunbook,
} from './bench-world.mjs';
import { measureInstructions } from './fanout-instructions.mjs';
import { profileFloor, profileOpsbook } from './fanout-profile.mjs';
import { reportFanout } from './fanout-report.mjs';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const sizeOf = (text) => {
  const [n, p] = text.split(':').map(Number);
  return { n, concurrency: p || Math.min(n, 200) };
};
const sizes = (process.env.BENCH_SIZES ?? '50:50,200:200,1000:200').split(',').map(sizeOf);
const memoryText = process.env.BENCH_MEMORY ?? '5000:200';
const memory = memoryText === '0' ? undefined : sizeOf(memoryText);
const memoryRuns = Number(process.env.BENCH_MEMORY_RUNS ?? 1);
const tools = (process.env.BENCH_TOOLS ?? 'opsbook,ssh2,session').split(',');
const steps = Number(process.env.BENCH_STEPS ?? 1);
const profile = process.env.BENCH_PROFILE === '1';
const commandTimeoutMs = Number(process.env.BENCH_TIMEOUT_S ?? 600) * 1000;
const baselineBuilds = process.env.BENCH_BASELINE_BUILD?.split(',').filter(Boolean) ?? [];
const instructionRounds = Number(process.env.BENCH_INSTRUCTIONS ?? 0);
const instructionSizes = (process.env.BENCH_INSTRUCTIONS_SIZES ?? '50:10').split(',').map(sizeOf);
const COMMAND = 'true';

stopOnSignals();
try {
  const world = await openBenchWorld({
    name: 'fanout',
    hostCounts: [
      ...sizes,
      ...(memory ? [memory] : []),
      ...(instructionRounds ? instructionSizes : []),
    ].map((s) => s.n),
    addresses: Number(process.env.BENCH_ADDRESSES ?? 16),
    tools: [
      ...(tools.includes('parallel') ? [['/usr/bin/parallel-ssh', 'pssh']] : []),
      ...(tools.includes('ansible') ? [['/usr/bin/ansible', 'ansible']] : []),
    ],
  });
  const ssh2 = await realpath(path.join(world.build, 'packages/exec/node_modules/ssh2'));
  const kit = { world, ssh2 };
  const algorithms = await checkAlgorithms(kit);
  const groups = sizes.flatMap((s) => [
    casesAt(kit, s, 1),
    ...(steps > 1 ? [casesAt(kit, s, steps)] : []),
  ]);
  await measureRounds(groups, runs, world);
  const memoryGroup = memory ? casesAt(kit, memory, 1, { memory: true }) : undefined;
  if (memoryGroup) await measureRounds([memoryGroup], memoryRuns, world);
  if (instructionRounds > 0) {
    const instructionGroups = instructionSizes.map((s) => casesAt(kit, s, 1));
    await measureInstructions(instructionGroups, instructionRounds, world, commandTimeoutMs);
  }
  if (profile) {
    const largest = sizes.reduce((a, b) => (b.n > a.n ? b : a));
    await profileOpsbook(world, await prepareRunbook(world, largest, 1), largest, commandTimeoutMs);
    await profileFloor(world, floorCase(kit, largest).argv, largest, commandTimeoutMs);
  }
  if (runs > 0 || memoryGroup)
    reportFanout({
      world,
      groups: [...groups, ...(memoryGroup ? [memoryGroup] : [])],
      runs,
      algorithms,
    });
} finally {
  await closeBenchWorld();
}

/** The cases of one size, opsbook (and its baselines) first; the rounds alternate the order. */
function casesAt(kit, size, execs, extra = {}) {
  const opsbook = opsbookCase(kit, size, execs);
  const cases = [
    ...(tools.includes('opsbook') ? [opsbook] : []),
    ...baselineBuilds.map((b) => baselineCase(opsbook, kit.world, b)),
    ...(tools.includes('ssh2') ? [floorCase(kit, size, execs)] : []),
    ...(tools.includes('session') ? [sessionFloorCase(kit, size, execs)] : []),
    ...(tools.includes('parallel') && execs === 1 ? [psshCase(kit, size)] : []),
    ...(tools.includes('ansible') && execs === 1 ? [ansibleCase(kit, size)] : []),
  ];
  for (const c of cases) c.samples = [];
  return { ...size, execs, cases, ...extra };
}

/** Rounds of every group; within a group the order of the tools alternates from round to round. */
async function measureRounds(groups, rounds, world) {
  for (let round = 1; round <= rounds; round++) {
    for (const group of groups) {
      const order = round % 2 === 1 ? group.cases : [...group.cases].reverse();
      for (const c of order) {
        if (isStopping()) throw new Error('interrupted');
        const s = await measure(c, world, commandTimeoutMs);
        s.round = round;
        c.samples.push(s);
        console.error(describeSample(c, s, round, rounds));
      }
    }
  }
}

/** The fan-out runbook of `execs` steps at this concurrency, approved in a fresh state folder. */
async function prepareRunbook(world, { n, concurrency }, execs) {
  const name = `bench-${execs}step-c${concurrency}`;
  await writeFanoutRunbook(world.dir, name, { steps: execs, concurrency, command: COMMAND });
  return world.approveInFreshState({
    runbook: name,
    hosts: n,
    summary: `fan-out benchmark: ${name} on ${n} hosts`,
  });
}

function opsbookCase({ world }, size, execs) {
  return {
    ...size,
    execs,
    tool: execs === 1 ? 'opsbook run' : `opsbook run, ${execs} steps`,
    opsbook: true,
    probe: true,
    prepare: () => prepareRunbook(world, size, execs),
    record: recordOpsbookRun(size.n),
    ok: (r, sample) => r.code === 0 && sample.hostsOk === size.n,
    failureOf: opsbookFailure,
  };
}

/**
 * What the run's journal says of its hosts (all ok, or why not), and how much state it wrote;
 * then its state folder is removed (the next run gets a fresh one).
 */
function recordOpsbookRun(n) {
  return async (r, sample) => {
    const runId = opsbookRunId(`${r.stdout}${r.stderr}`);
    if (runId) {
      const events = await readJournal(undefined, runId, sample.stateDir);
      const ends = events.filter((e) => e.type === 'host-end');
      sample.hostsOk = ends.filter((e) => e.status === 'ok').length;
      sample.timeouts = ends.filter((e) =>
        /SSH_CONNECT_TIMEOUT|within \d+ s/.test(e.error ?? ''),
      ).length;
      sample.notOk = ends.filter((e) => e.status !== 'ok').map((e) => `${e.host}: ${e.error}`);
      sample.hostsSeen = ends.length;
    }
    sample.stateBytes = await folderBytes(sample.stateDir);
    sample.stateHosts = n;
    await rm(path.dirname(sample.stateDir), { recursive: true, force: true });
  };
}

/** A run that ended but not every host ok: how many, and the first few reasons. */
function opsbookFailure(r, sample) {
  if (sample.hostsSeen === undefined) return undefined;
  const timeouts = sample.timeouts ? `, ${sample.timeouts} SSH timeout(s)` : '';
  return `exit ${r.code}: ${sample.hostsOk} of ${sample.stateHosts} hosts ok${timeouts}: ${sample.notOk.slice(0, 3).join('; ')}`;
}

async function folderBytes(folder) {
  let total = 0;
  for (const entry of await readdir(folder, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** The same opsbook case run by an older build's CLI (its plan and approval made as usual). */
function baselineCase(c, world, build) {
  const bin = path.join(build, 'packages/cli/dist/bin.js');
  const label = baselineBuilds.length > 1 ? path.basename(build) : 'baseline build';
  return {
    ...c,
    tool: `${c.tool} (${label})`,
    opsbook: false,
    baseline: true,
    prepare: async () => {
      const prepared = await c.prepare();
      return { ...prepared, argv: prepared.argv.map((a) => (a === world.bin ? bin : a)) };
    },
  };
}

/** The bare loop (ssh2-floor.mjs) as a measured case: `execs` commands per connection. */
function floorCase({ world, ssh2 }, size, execs = 1, extra = {}) {
  const options = {
    ssh2,
    port: world.port,
    addresses: world.addresses,
    keyFile: world.clientKey,
    hostKey: world.hostBlob,
    hosts: size.n,
    concurrency: size.concurrency,
    user: USER,
    command: COMMAND,
    execs,
  };
  return {
    ...size,
    execs,
    tool: `bare ssh2 loop${execs > 1 ? `, ${execs} execs` : ''}`,
    floor: true,
    probe: true,
    argv: [
      process.execPath,
      path.join(import.meta.dirname, 'ssh2-floor.mjs'),
      JSON.stringify({ ...options, ...extra }),
    ],
    ok: (r) => r.code === 0 && r.stdout.includes(`ok ${size.n} `),
    failureOf: (r) =>
      r.code === 0 ? r.stdout.trim().split('\n').join(' / ') : `exit ${r.code}: ${r.stderr}`,
  };
}

/**
 * The bare loop through opsbook's step session (ssh2-floor.mjs, `session`): the host side of an
 * opsbook run, the client side of the bare loop. Not the targets' peer: it tells which side a gap is on.
 */
function sessionFloorCase(kit, size, execs = 1) {
  const session = path.join(kit.world.build, 'packages/exec/dist/step-session.js');
  return {
    ...floorCase(kit, size, execs, { session }),
    floor: false,
    tool: `step session floor${execs > 1 ? `, ${execs} steps` : ''}`,
    sessionFloor: true,
  };
}

function psshCase({ world }, size) {
  return {
    ...size,
    execs: 1,
    tool: 'parallel-ssh',
    argv: [
      'parallel-ssh',
      '-p',
      size.concurrency,
      '-t',
      0,
      '-h',
      path.join(world.dir, `hosts-${size.n}.txt`),
      '-x',
      `-F ${path.join(world.dir, 'ssh_config')}`,
      COMMAND,
    ],
    ok: (r) => r.code === 0 && count(r.stdout, '[SUCCESS]') === size.n,
  };
}

function ansibleCase({ world }, size) {
  const inventory = path.join(world.dir, `inventory-${size.n}.ini`);
  return {
    ...size,
    execs: 1,
    tool: 'ansible -m command, pipelining',
    argv: ['ansible', 'all', '-i', inventory, '-m', 'command', '-a', COMMAND],
    env: ansibleEnv(world),
    ok: (r) => r.code === 0 && count(r.stdout, '| CHANGED') === size.n,
  };
}

/**
 * One opsbook run and one bare loop on the smallest size with ssh2's negotiated algorithms
 * noted: both sides must pay for the same key exchange, host key, cipher and MAC.
 */
async function checkAlgorithms(kit) {
  const size = sizes.reduce((a, b) => (b.n < a.n ? b : a));
  const seen = [];
  for (const c of [opsbookCase(kit, size, 1), floorCase(kit, size)]) {
    const s = await measure({ ...c, probeAlgorithms: true }, kit.world, commandTimeoutMs);
    if (s.failure) throw new Error(`${c.tool} failed: ${s.failure}`);
    if (!s.algorithms) throw new Error(`${c.tool}: no negotiated algorithms noted`);
    seen.push([c.tool, JSON.stringify(s.algorithms)]);
  }
  if (seen[0][1] !== seen[1][1])
    throw new Error(`opsbook and the bare loop negotiated different SSH algorithms: ${seen}`);
  return seen[0][1];
}
