// One measurement of the SSH benchmarks (fanout.mjs, inspect.mjs): a fresh process under
// /usr/bin/time (wall, user+sys of the process tree, peak RSS of its largest process) in its own
// process group, plus the CPU the shared sshd spent meanwhile; and the medians of the rounds.
import { spawnSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { cleanEnv, descendantsOf, runGroup, sleep } from './bench-processes.mjs';

const CLOCK_TICKS =
  Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/**
 * Runs case `c` once: `c.prepare()` (untimed, returns argv) or `c.argv`, with `c.env`; `c.ok(r)`
 * decides success. Opsbook cases (those with `prepare`) also get the phases of their wall time.
 * `c.record(r, sample)` may add case-specific figures to the sample.
 */
export async function measure(c, world, timeoutMs) {
  const { dir, sshd } = world;
  const argv = c.prepare ? await c.prepare() : c.argv;
  await waitForIdleSshd(sshd);
  const timeFile = path.join(dir, 'time.out');
  await rm(timeFile, { force: true });
  const serverBefore = await treeCpuSeconds(sshd.pid);
  const startedAt = Date.now();
  const started = process.hrtime.bigint();
  const r = await runGroup(
    ['/usr/bin/time', '-f', '%e %U %S %M', '-o', timeFile, ...argv.map(String)],
    { cwd: dir, env: cleanEnv(c.env) },
    timeoutMs,
  );
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.timedOut) {
    throw new Error(`${c.tool} on ${c.n} hosts did not finish in ${timeoutMs / 1000} s`);
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
  await waitForIdleSshd(sshd);
  const server = (await treeCpuSeconds(sshd.pid)) - serverBefore;
  const sample = { wall, cpu: user + sys, user, sys, rssMb: maxKb / 1024, server, failure };
  const slowest = r.stdout.match(/slowest handshake ([\d.]+) s/)?.[1];
  if (slowest) sample.slowestHandshake = Number(slowest);
  if (c.prepare)
    sample.phases = await opsbookPhases(dir, `${r.stdout}${r.stderr}`, startedAt, wall);
  if (c.record) await c.record(r, sample);
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

/** The run id an `opsbook run` printed, or undefined. */
export function opsbookRunId(output) {
  return output.match(/run (\S+) \w+ in /)?.[1];
}

/** The events of an opsbook run's journal, in order. */
export async function readJournal(dir, runId) {
  const text = await readFile(path.join(dir, 'state', 'runs', `${runId}.jsonl`), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

/** Where an opsbook run's wall time went, from its journal's timestamps. */
async function opsbookPhases(dir, output, startedAt, wall) {
  const runId = opsbookRunId(output);
  if (!runId) return undefined;
  const events = await readJournal(dir, runId);
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
  return `round ${round}/${runs}  ${String(c.n).padStart(4)} hosts ×${String(c.concurrency).padEnd(4)} ${c.tool.padEnd(30)} ${s.failure ? `FAILED (${s.failure}) ` : ''}${s.wall.toFixed(2)} s wall, cpu ${s.user.toFixed(2)} user + ${s.sys.toFixed(2)} sys, ${s.rssMb.toFixed(0)} MB, sshd ${s.server.toFixed(2)} s cpu${s.slowestHandshake ? `, slowest handshake ${s.slowestHandshake.toFixed(1)} s` : ''}${s.phases ? `; before run-start ${s.phases.beforeRun.toFixed(2)} s, hosts ${s.phases.hosts.toFixed(2)} s, after run-end ${s.phases.afterRun.toFixed(2)} s` : ''}`;
}
