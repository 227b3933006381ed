// Processes the benchmarks start: each tracked by PID in its own process group, bounded in time,
// and stopped by PID on every exit path (SIGINT, SIGTERM, a failure). Shared by the benches;
// runMeasured times one under rusage.py.
import { spawn, spawnSync } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';

/** Processes (group leaders) started by the benchmark and still running, by PID. */
export const live = new Set();
let stopping = false;

/** True once SIGINT or SIGTERM arrived: the measuring loops stop at their next step. */
export function isStopping() {
  return stopping;
}

/** On SIGINT / SIGTERM, stop every process the benchmark started; the caller's finally cleans up. */
export function stopOnSignals() {
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      stopping = true;
      console.error(`\n${signal}: stopping the benchmark`);
      for (const pid of live) killGroup(pid);
    });
  }
}

/** Runs argv in its own process group, output captured; killed (whole group) after timeoutMs. */
export function runGroup(argv, options, timeoutMs) {
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
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      // The group may hold stragglers (an ssh that outlived pssh): stop them too.
      killGroup(child.pid);
      live.delete(child.pid);
      resolve({ ...out, code, timedOut });
    });
  });
}

/** Runs a command and writes `USER_S SYS_S MAX_RSS_KB WALL_S START_MS` from wait4(2) to a file. */
const RUSAGE = path.join(import.meta.dirname, 'rusage.py');
/** Whether python3 runs here, once asked. */
let pythonChecked;

/**
 * `runGroup` of argv under rusage.py: besides its output, the command's CPU (user and sys of
 * the process and the children it waited for, to the microsecond; GNU time truncates each to
 * 10 ms), the peak RSS of its largest process, and its wall time from the wrapper's fork of it to
 * the end of wait4 (python3's own start-up is on no side), and its minor page faults and context
 * switches (voluntary, involuntary). `timeFile` is overwritten.
 */
export async function runMeasured(argv, options, timeoutMs, timeFile) {
  pythonChecked ??= spawnSync('python3', ['-c', '']).status === 0;
  if (!pythonChecked)
    throw new Error(
      'the benchmarks time each process with python3 (scripts/bench/rusage.py), which this machine lacks: run bash scripts/setup-test-host.sh (or apt-get install python3)',
    );
  await rm(timeFile, { force: true });
  const r = await runGroup(['python3', RUSAGE, timeFile, ...argv.map(String)], options, timeoutMs);
  const text = r.timedOut ? '' : await readFile(timeFile, 'utf8').catch(() => '');
  const [user, sys, maxKb, wall, startedAt, minorFaults, voluntarySwitches, involuntarySwitches] =
    text.trim().split(' ').map(Number);
  return {
    ...r,
    user,
    sys,
    cpu: user + sys,
    maxKb,
    wall,
    startedAt,
    minorFaults,
    voluntarySwitches,
    involuntarySwitches,
  };
}

/**
 * Variables that change what a Node process costs before it runs a line of its script, on every
 * side alike. NODE_EXTRA_CA_CERTS makes Node parse a CA bundle at start-up: with this machine's
 * /etc/ssl/certs/ca-certificates.crt that is ~35 ms of CPU, which tripled `node -e 0` (17 ms to
 * 52 ms) and so hid a fixed cost of opsbook's in every ratio to a Node floor (BENCHMARKS.md,
 * 2026-12-06 10:35). A user's machine seldom sets it; the benches leave it out, and say so
 * (BENCH_KEEP_NODE_ENV=1 keeps both, to compare).
 */
const NODE_START_VARIABLES = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS'];
/** BENCH_KEEP_NODE_ENV=1: measure in the environment as given, to compare. */
const keepNodeEnv = process.env.BENCH_KEEP_NODE_ENV === '1';

/** What the benches removed from the environment they were given, for their report; '' if nothing. */
export function removedEnvNote() {
  const removed = keepNodeEnv
    ? []
    : NODE_START_VARIABLES.filter((name) => process.env[name] !== undefined);
  return removed.length
    ? `left out of every measured process's environment: ${removed.map((n) => `${n}=${process.env[n]}`).join(', ')} (it changes what Node costs to start)`
    : '';
}

/**
 * The environment of a measured process: no ssh-agent and no user ssh config for any tool (every
 * client authenticates with the one key file), and none of NODE_START_VARIABLES but those `extra`
 * sets itself (fanout.mjs preloads its first-connect probe through NODE_OPTIONS).
 */
export function cleanEnv(extra = {}) {
  const env = { ...process.env };
  if (!keepNodeEnv) for (const name of NODE_START_VARIABLES) delete env[name];
  Object.assign(env, extra);
  delete env.SSH_AUTH_SOCK;
  delete env.SSH_AGENT_PID;
  return env;
}

export function check(r, what) {
  if (r.error || r.status !== 0) {
    throw new Error(
      `${what} failed (exit ${r.status}): ${r.error?.message ?? ''}${r.stdout ?? ''}${r.stderr ?? ''}`,
    );
  }
  return r;
}

export function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
}

export async function killTree(pid) {
  for (const p of [pid, ...(await descendantsOf(pid))]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  live.delete(pid);
}

export async function descendantsOf(rootPid) {
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

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
