// One measurement of the SSH benchmarks (fanout.mjs, inspect.mjs): a fresh process under
// rusage.py (user+sys of the process tree to the microsecond, peak RSS of its largest process;
// GNU time truncates CPU to 10 ms) in its own process group, its wall time, plus the CPU the
// shared sshd spent meanwhile; and the medians of the rounds.
import { spawnSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { cleanEnv, descendantsOf, runMeasured, sleep } from './bench-processes.mjs';

const CLOCK_TICKS =
  Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Preloaded by `c.probe` cases: when the process made its first TCP connection. */
const PROBE = path.join(import.meta.dirname, 'first-connect-probe.cjs');

/**
 * Runs case `c` once: `c.prepare()` (untimed, returns argv, or `{argv, stateDir}` for a run in a
 * state folder of its own) or `c.argv`, with `c.env`; `c.ok(r, sample)` decides success. Opsbook
 * cases (those with `prepare`) also get the phases of their wall time. `c.probe`: a Node process
 * that preloads first-connect-probe.cjs (`sample.firstConnect`, s from the spawn). Every sample
 * has the 1-minute load average at its start and the listen-queue overflows of its run.
 * `c.record(r, sample)` may add case-specific figures to the sample.
 */
export async function measure(c, world, timeoutMs) {
  const { dir, sshd } = world;
  const prepared = c.prepare ? await c.prepare() : c.argv;
  const { argv, stateDir = path.join(dir, 'state') } = Array.isArray(prepared)
    ? { argv: prepared }
    : prepared;
  await waitForIdleSshd(sshd);
  const timeFile = path.join(dir, 'time.out');
  const probeFile = path.join(dir, 'probe.json');
  await rm(probeFile, { force: true });
  const env = c.probe
    ? {
        ...c.env,
        NODE_OPTIONS: `--require=${PROBE}`,
        BENCH_PROBE_FILE: probeFile,
        ...(c.probeAlgorithms ? { BENCH_PROBE_ALGORITHMS: '1' } : {}),
      }
    : c.env;
  const load = loadavg()[0];
  const overflowsBefore = await listenOverflows();
  const machineBefore = await machineTicks();
  const serverBefore = await hostCpuSeconds(sshd);
  const r = await runMeasured(argv, { cwd: dir, env: cleanEnv(env) }, timeoutMs, timeFile);
  const probe = c.probe ? JSON.parse(await readFile(probeFile, 'utf8').catch(() => '{}')) : {};
  if (r.timedOut) {
    throw new Error(`${c.tool} on ${c.n} hosts did not finish in ${timeoutMs / 1000} s`);
  }
  // The wrapper's clock: from its fork of the command to the command's end, not from this spawn
  // of python3 (its own start-up would be on every side's wall time and first connection).
  const { user, sys, maxKb, wall, startedAt, minorFaults, voluntarySwitches } = r;
  const machineAfter = await machineTicks();
  await waitForIdleSshd(sshd);
  const server = (await hostCpuSeconds(sshd)) - serverBefore;
  const sample = {
    wall,
    cpu: user + sys,
    user,
    sys,
    rssMb: maxKb / 1024,
    // Where system CPU goes, counted (the load barely moves them): page faults, and the
    // voluntary context switches of every hand-off to a thread (libuv's pool, V8's workers).
    minorFaults,
    voluntarySwitches,
    server,
    load,
    listenOverflows: (await listenOverflows()) - overflowsBefore,
    // Cores busy on the whole machine during the run (this run, sshd and everyone else's work).
    machineBusy:
      (machineAfter.busy - machineBefore.busy) /
      ((machineAfter.total - machineBefore.total) / machineAfter.cores),
    stateDir,
  };
  if (probe.firstConnectAt) sample.firstConnect = (probe.firstConnectAt - startedAt) / 1000;
  if (probe.algorithms) sample.algorithms = probe.algorithms;
  const slowest = r.stdout.match(/slowest handshake ([\d.]+) s/)?.[1];
  if (slowest) sample.slowestHandshake = Number(slowest);
  const loaded = r.stdout.match(/session module loaded in ([\d.]+) ms, CPU ([\d.]+) ms/);
  if (loaded) sample.moduleLoad = { wall: Number(loaded[1]) / 1000, cpu: Number(loaded[2]) / 1000 };
  if (c.prepare)
    sample.phases = await opsbookPhases(stateDir, `${r.stdout}${r.stderr}`, startedAt, wall);
  if (c.record) await c.record(r, sample);
  // A failed run is a result too (reported with its reason, left out of the medians); only a
  // tool that fails without a recognisable reason stops the benchmark.
  if (!c.ok(r, sample)) sample.failure ??= failureOf(c, r, sample);
  return sample;
}

/** The machine's CPU ticks from /proc/stat: busy (all but idle and iowait), total, cores. */
async function machineTicks() {
  const lines = (await readFile('/proc/stat', 'utf8')).split('\n');
  const ticks = lines[0].trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const cores = lines.filter((l) => /^cpu\d/.test(l)).length;
  return { busy: total - ticks[3] - ticks[4], total, cores };
}

/** The kernel's count of connections a full listen queue dropped (TcpExt ListenOverflows). */
async function listenOverflows() {
  const lines = (await readFile('/proc/net/netstat', 'utf8')).split('\n');
  const i = lines.findIndex((l) => l.startsWith('TcpExt:'));
  const names = lines[i].split(' ');
  return Number(lines[i + 1].split(' ')[names.indexOf('ListenOverflows')]);
}

/** Why a run failed, in a few words; throws when the output holds no known reason. */
function failureOf(c, r, sample) {
  const output = `${r.stdout}\n${r.stderr}`;
  if (c.failureOf) {
    const reason = c.failureOf(r, sample);
    if (reason) return reason;
  }
  const timeouts = (
    output.match(
      /SSH_CONNECT_TIMEOUT|did not connect and send its SSH banner|did not complete the SSH key exchange/g,
    ) ?? []
  ).length;
  if (timeouts > 0) return `${timeouts} SSH connect or handshake timeout(s) on ${c.n} hosts`;
  throw new Error(
    `${c.tool} on ${c.n} hosts failed (exit ${r.code}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`,
  );
}

/**
 * CPU seconds of the host side, the server's share of the cores the clients also run on: sshd
 * and every process it started, orphans included, where its cgroup could be made
 * (bench-cgroup.mjs); else sshd and the sessions it reaped (`hostCpuSource` says which).
 */
async function hostCpuSeconds(sshd) {
  return sshd.cgroup ? sshd.cgroup.cpuSeconds() : treeCpuSeconds(sshd.pid);
}

/** What hostCpuSeconds counts, for the reports. */
export function hostCpuSource(sshd) {
  return sshd.cgroup
    ? `sshd and every process it started, orphans included (${sshd.cgroup.kind})`
    : 'sshd and the sessions it reaped (no cgroup could be made: processes a session left behind are not counted)';
}

/** CPU seconds of sshd and every session it reaped (utime, stime, cutime, cstime of /proc/PID/stat). */
async function treeCpuSeconds(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the comm field: state is fields[0], so utime..cstime (stat fields 14-17) are 11-14.
  const ticks = fields.slice(11, 15).reduce((a, b) => a + Number(b), 0);
  return ticks / CLOCK_TICKS;
}

/** The run id an `opsbook run` printed, or undefined. */
export function opsbookRunId(output) {
  return output.match(/run (\S+) \w+ in /)?.[1];
}

/** The events of an opsbook run's journal, in order; `stateDir` default: <dir>/state. */
export async function readJournal(dir, runId, stateDir = path.join(dir, 'state')) {
  const text = await readFile(path.join(stateDir, 'runs', `${runId}.jsonl`), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

/** Where an opsbook run's wall time went, from its journal's timestamps. */
async function opsbookPhases(stateDir, output, startedAt, wall) {
  const runId = opsbookRunId(output);
  if (!runId) return undefined;
  const events = await readJournal(undefined, runId, stateDir);
  const at = (e) => Date.parse(e.at);
  const runStart = at(events[0]);
  const runEnd = at(events[events.length - 1]);
  return {
    beforeRun: (runStart - startedAt) / 1000,
    hosts: (runEnd - runStart) / 1000,
    afterRun: wall - (runEnd - startedAt) / 1000,
  };
}

/** Waits until sshd has no session processes left, so that one measurement does not pay for the last. */
export async function waitForIdleSshd(sshd) {
  for (let i = 0; i < 200; i++) {
    if ((await descendantsOf(sshd.pid)).length === 0) return;
    await sleep(50);
  }
  throw new Error('sshd still has sessions 10 s after the last measurement ended');
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export function count(text, needle) {
  return text.split(needle).length - 1;
}

/** One progress line of a sample, on stderr while the rounds run. */
export function describeSample(c, s, round, runs) {
  return `round ${round}/${runs}  load ${s.load.toFixed(2)}, ${s.machineBusy.toFixed(2)} cores busy  ${String(c.n).padStart(4)} hosts ×${String(c.concurrency).padEnd(4)} ${c.tool.padEnd(30)} ${s.failure ? `FAILED (${s.failure}) ` : ''}${s.wall.toFixed(2)} s wall, cpu ${s.user.toFixed(3)} user + ${s.sys.toFixed(3)} sys, ${s.rssMb.toFixed(0)} MB, ${s.minorFaults} minor faults, ${s.voluntarySwitches} voluntary switches, host side ${s.server.toFixed(2)} s cpu${s.firstConnect !== undefined ? `, first connect at ${s.firstConnect.toFixed(3)} s` : ''}${s.listenOverflows ? `, ${s.listenOverflows} listen overflows` : ''}${s.slowestHandshake ? `, slowest handshake ${s.slowestHandshake.toFixed(1)} s` : ''}${s.phases ? `; before run-start ${s.phases.beforeRun.toFixed(2)} s, hosts ${s.phases.hosts.toFixed(2)} s, after run-end ${s.phases.afterRun.toFixed(2)} s` : ''}`;
}
