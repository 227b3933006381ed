#!/usr/bin/env node
// Daily inspection cost (issue 6): the full daily-inspection checklist on 50 and 200 hosts, in the
// same run, for
//   opsbook run daily-inspection   the runbook as shipped (runbooks/daily-inspection, its 13 checks,
//                                  concurrency 50); plan + approve first, then ONLY the run is timed;
//                                  its findings are counted from the run's journal
//   ansible-playbook -f 50         the same 13 collector commands (generated from @opsbook/inspection's
//                                  `collect(with)` for the runbook's steps, so the two cannot drift)
//                                  as `shell` tasks, gather_facts: false, pipelining
//   ansible -m setup -f 50         Ansible's fact gathering: the target's denominator
// Target: opsbook's wall ≤ 0.3× `ansible -m setup` for the full checklist. Results: BENCHMARKS.md.
//
// The world is fanout.mjs's (bench-world.mjs): every "host" is an alias of ONE real OpenSSH sshd
// on 127.0.0.1 (MaxStartups raised), logged into as the user `opsbench` (shell /bin/sh), strict
// known_hosts for every tool, Ansible with pipelining and ControlMaster=no (one connection per
// host and task, as in a real fleet). Each measurement is a fresh process under rusage.py
// (bench-measure.mjs: user+sys of the process tree to the microsecond, peak RSS of its largest
// process) and its wall time, plus the host side's CPU (sshd and every process it started, the
// collectors included: they run under sshd, on the same 2 cores; bench-cgroup.mjs); BENCH_RUNS
// rounds, interleaved, medians and per-round ratios reported, with the load average each run
// started at and PASS/FAIL at every size. Needs root and the packages built (pnpm build).
// Everything it starts is stopped by PID; the temp dir, the authorized_keys it wrote and the user
// it created are removed.
//
//   node scripts/bench/inspect.mjs                 full run: 50 and 200 hosts, 3 rounds
//   BENCH_RUNS=1 BENCH_SIZES=5 node scripts/bench/inspect.mjs      quick check (~1 min)
//   BENCH_SIZES=50,200 …                           host counts (default 50,200)
//   BENCH_RUNS=3 …                                 rounds (default 3)
//   BENCH_TOOLS=opsbook,setup …                    only the tools whose names contain these words
//   BENCH_SKIP_CHECKS=security-updates …          drops these step ids from BOTH the runbook and the
//                                                  playbook (this container keeps no apt pkgcache.bin,
//                                                  so every `apt-get -s upgrade` rebuilds it: ~5 s CPU
//                                                  per host, 200 hosts ≈ 500 s on 2 cores per tool)
//   BENCH_ANSIBLE_FORKS=50 …                       Ansible's -f (default 50, the runbook's concurrency)
//   BENCH_TIMEOUT_S=1200 …                         per-command limit (default 600 s)
import { cp, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { count, measure, opsbookRunId, readJournal } from './bench-measure.mjs';
import { isStopping, stopOnSignals } from './bench-processes.mjs';
import { ansibleEnv, closeBenchWorld, openBenchWorld, root } from './bench-world.mjs';
import { describeRound, reportInspection } from './inspect-report.mjs';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const sizes = (process.env.BENCH_SIZES ?? '50,200').split(',').map(Number);
const ansibleForks = Number(process.env.BENCH_ANSIBLE_FORKS ?? 50);
const commandTimeoutMs = Number(process.env.BENCH_TIMEOUT_S ?? 600) * 1000;
const RUNBOOK = 'daily-inspection';
const skipChecks = (process.env.BENCH_SKIP_CHECKS ?? '').split(',').filter(Boolean);

stopOnSignals();
try {
  const world = await openBenchWorld({
    name: 'inspect',
    hostCounts: sizes,
    tools: [
      ['/usr/bin/ansible', 'ansible'],
      ['/usr/bin/ansible-playbook', 'ansible'],
    ],
  });
  const checklist = await prepareChecklist(world);
  const cases = await measureAll(world, checklist);
  reportInspection({ world, cases, checklist, runs, sizes });
} finally {
  await closeBenchWorld();
}

/**
 * Copies the shipped runbook into the world and writes the Ansible playbook of the same
 * collectors: one `shell` task per `inspection.*` step, its text from `collect(with)`.
 */
async function prepareChecklist(world) {
  const from = path.join(root, 'runbooks', RUNBOOK);
  const to = path.join(world.dir, 'runbooks', RUNBOOK);
  await cp(from, to, { recursive: true });
  // From the world's snapshot of the build, by path (see bench-world.mjs): Ansible's playbook gets
  // the collectors of the very build opsbook is measured with.
  const { parseYamlSource } = await import(path.join(world.build, 'packages/schema/dist/index.js'));
  const { inspectionChecks } = await import(
    path.join(world.build, 'packages/inspection/dist/index.js')
  );
  const file = path.join(from, 'runbook.yaml');
  const source = parseYamlSource(file, await readFile(file, 'utf8'));
  if (source.problems.length > 0)
    throw new Error(`${file}: ${source.problems.map((p) => p.message).join('; ')}`);
  const unknown = skipChecks.filter((id) => !source.value.spec.steps.some((s) => s.id === id));
  if (unknown.length > 0)
    throw new Error(`BENCH_SKIP_CHECKS: no step ${unknown.join(', ')} in ${file}`);
  const steps = source.value.spec.steps.filter((s) => !skipChecks.includes(s.id));
  if (skipChecks.length > 0) {
    // JSON is YAML: the runbook as shipped, minus the skipped steps, planned and signed as usual.
    const trimmed = { ...source.value, spec: { ...source.value.spec, steps } };
    await writeFile(path.join(to, 'runbook.yaml'), `${JSON.stringify(trimmed, null, 2)}\n`);
  }
  const tasks = steps.map((step) => {
    const check = inspectionChecks[step.uses];
    if (!check)
      throw new Error(`${file}: step ${step.id} uses ${step.uses}, not an inspection check`);
    const task = {
      name: step.id,
      'ansible.builtin.shell': { cmd: check.collect(step.with ?? {}), executable: '/bin/sh' },
      changed_when: false,
    };
    const seconds = timeoutSeconds(step.timeout);
    if (seconds) task.timeout = seconds;
    return task;
  });
  // JSON is YAML: no quoting of the collectors' shell text to get wrong.
  const play = [{ name: RUNBOOK, hosts: 'all', gather_facts: false, tasks }];
  const playbook = path.join(world.dir, 'inspect-playbook.yml');
  await writeFile(playbook, `${JSON.stringify(play, null, 2)}\n`);
  return {
    playbook,
    checks: steps.length,
    skipped: skipChecks,
    concurrency: source.value.spec.targets.concurrency,
  };
}

function timeoutSeconds(text) {
  const m = /^(\d+)(s|m|h)$/.exec(text ?? '');
  return m ? Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2]] : undefined;
}

function opsbookCase(world, checklist, n) {
  return {
    n,
    concurrency: checklist.concurrency,
    tool: `opsbook run ${RUNBOOK}${skipChecks.length ? ` without ${skipChecks.join(', ')}` : ''}`,
    opsbook: true,
    prepare: () =>
      world.approve({
        runbook: RUNBOOK,
        hosts: n,
        summary: `inspection benchmark: ${RUNBOOK} on ${n} hosts`,
      }),
    // A run that ended (journal written) is a result; a check that timed out or failed marks it
    // failed with the count (recordFindings), so it is reported but left out of the medians.
    ok: (r) => r.code === 0 || opsbookRunId(`${r.stdout}${r.stderr}`) !== undefined,
    record: (r, sample) => recordFindings(world, checklist, n, r, sample),
  };
}

/** The run's findings by status, and whether every host ended every check (else the run is a failure). */
async function recordFindings(world, checklist, n, r, sample) {
  const runId = opsbookRunId(`${r.stdout}${r.stderr}`);
  if (!runId) return;
  const events = await readJournal(world.dir, runId);
  const ends = events.filter((e) => e.type === 'step-end');
  const findings = ends.flatMap((e) => e.result?.findings ?? []);
  const byStatus = {};
  for (const f of findings) byStatus[f.status] = (byStatus[f.status] ?? 0) + 1;
  sample.findings = { total: findings.length, byStatus, stepEnds: ends.length };
  // Mean time of each check per host: which collectors the wall time goes to.
  const perStep = {};
  for (const e of ends) {
    perStep[e.step] ??= [];
    perStep[e.step].push(e.durationMs / 1000);
  }
  sample.stepSeconds = Object.fromEntries(
    Object.entries(perStep).map(([step, xs]) => [step, xs.reduce((x, y) => x + y, 0) / xs.length]),
  );
  const expected = n * checklist.checks;
  const withFindings = ends.filter((e) => e.result?.findings).length;
  const notOk = {};
  for (const e of ends) if (e.status !== 'ok') notOk[e.status] = (notOk[e.status] ?? 0) + 1;
  const why = Object.entries(notOk).map(([status, k]) => `${k} ${status}`);
  if (!sample.failure && (withFindings !== expected || r.code !== 0))
    sample.failure = `opsbook exit ${r.code}: ${withFindings} of ${expected} checks returned findings${why.length ? ` (${why.join(', ')})` : ''}`;
}

function playbookCase(world, checklist, n) {
  const inventory = path.join(world.dir, `inventory-${n}.ini`);
  return {
    n,
    concurrency: ansibleForks,
    tool: 'ansible-playbook, same checks',
    argv: ['ansible-playbook', '-i', inventory, '-f', ansibleForks, checklist.playbook],
    env: ansibleEnv(world),
    // A play that reached its recap is a result; failed tasks (e.g. a timeout) mark it failed.
    ok: (r) => r.stdout.includes('PLAY RECAP'),
    record: (r, sample) => {
      sample.tasksOk = tasksOk(r.stdout);
      const expected = n * checklist.checks;
      if (r.code !== 0 || sample.tasksOk !== expected)
        sample.failure = `ansible-playbook exit ${r.code}: ${sample.tasksOk} of ${expected} tasks ok`;
    },
  };
}

/** Tasks that ended ok on every host, from the PLAY RECAP. */
function tasksOk(output) {
  return [...output.matchAll(/^host-\d+\s+:\s+ok=(\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
}

function setupCase(world, n) {
  const inventory = path.join(world.dir, `inventory-${n}.ini`);
  return {
    n,
    concurrency: ansibleForks,
    tool: 'ansible -m setup',
    argv: ['ansible', 'all', '-i', inventory, '-m', 'setup', '-f', ansibleForks],
    env: ansibleEnv(world),
    // Exit 0 means every host answered; the facts of 200 hosts may pass the captured 5 MB, so
    // the per-host count is only checked when the output is whole.
    ok: (r) => r.code === 0 && (count(r.stdout, '| SUCCESS') === n || r.stdout.length >= 5_000_000),
  };
}

async function measureAll(world, checklist) {
  const cases = sizes.flatMap((n) => [
    opsbookCase(world, checklist, n),
    playbookCase(world, checklist, n),
    setupCase(world, n),
  ]);
  const only = process.env.BENCH_TOOLS?.split(',');
  const chosen = only ? cases.filter((c) => only.some((w) => c.tool.includes(w))) : cases;
  for (const c of chosen) c.samples = [];
  // Rounds interleave the tools, in the opposite order every other round, so that a slow phase
  // of the machine does not land on one tool; each sample keeps the load average it started at.
  for (let round = 1; round <= runs; round++) {
    for (const c of round % 2 ? chosen : [...chosen].reverse()) {
      if (isStopping()) throw new Error('interrupted');
      const load = loadavg()[0];
      const sample = await measure(c, world, commandTimeoutMs);
      sample.load ??= load;
      c.samples.push(sample);
      console.error(describeRound(c, round, runs));
    }
  }
  return chosen;
}
