// fanout.mjs's tables: every measured row, then each size's targets with PASS/FAIL (issue 18).
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { hostCpuSource, median } from './bench-measure.mjs';
import { removedEnvNote } from './bench-processes.mjs';

/** Issue 18's limits. */
export const LIMITS = { wall: 1.1, cpu: 1.1, firstConnectS: 0.3, memoryMb: 200 };

export function reportFanout({ world, groups, runs, algorithms }) {
  console.log(`\n${machineLine(world)}`);
  console.log(`both sides negotiated the same SSH algorithms: ${algorithms}`);
  printRows(groups);
  printTargets(groups.filter((g) => !g.memory));
  printSessionFloor(groups.filter((g) => !g.memory));
  const memory = groups.find((g) => g.memory);
  if (memory) printMemory(memory, groups);
  printPhases(groups);
  for (const g of groups)
    for (const c of g.cases) {
      const failed = c.samples.filter((s) => s.failure);
      if (failed.length === 0) continue;
      console.log(`\n${c.tool} on ${g.n} hosts at ${g.concurrency} in parallel, failed runs:`);
      for (const s of failed) console.log(`  - round ${s.round}: ${s.failure}`);
    }
  console.log(
    `\n${runs} round(s); medians of the successful runs; ratios paired by round (opsbook ÷ bare loop of the same round).`,
  );
}

/** The checkout's commit when the benchmark started (its build was copied then). */
const STARTED_AT = { time: new Date().toISOString(), commit: headCommit() };

function headCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function machineLine(world) {
  return `${STARTED_AT.time} to ${new Date().toISOString()}; build of the working tree at ${STARTED_AT.commit}; node ${process.version}; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; ${(totalmem() / 2 ** 30).toFixed(0)} GiB; sshd on ${world.addresses.length} address(es) ${world.addresses[0]}…, port ${world.port}; host side CPU: ${hostCpuSource(world.sshd)}${removedEnvNote() ? `; ${removedEnvNote()}` : ''}`;
}

const good = (c) => c.samples.filter((s) => !s.failure);
const mid = (c, pick) => {
  const values = good(c)
    .map(pick)
    .filter((v) => v !== undefined);
  return values.length > 0 ? median(values) : Number.NaN;
};
const fmt = (x, digits) => (Number.isNaN(x) || x === undefined ? '—' : x.toFixed(digits));
const range = (values, digits) =>
  values.length === 0
    ? '—'
    : `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;

/** One Markdown table row. */
const row = (cells) => `| ${cells.join(' | ')} |`;

function printRows(groups) {
  console.log(
    `\n${row(['hosts', 'parallel', 'tool', 'runs ok', 'wall (s)', 'client CPU (s)', 'CPU / host (ms)', 'user / sys (s)', 'minor faults', 'voluntary switches', 'peak RSS (MB)', 'host side CPU (s; ms / host)', 'first connect (s)', 'load at start', 'machine busy (cores)', 'state written (KB / host)'])}`,
  );
  console.log('|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const g of groups) {
    for (const c of g.cases) {
      const state = mid(c, (s) => (s.stateBytes === undefined ? undefined : s.stateBytes / g.n));
      const cpu = mid(c, (s) => s.cpu);
      console.log(
        row([
          g.n,
          g.concurrency,
          c.tool,
          `${good(c).length}/${c.samples.length}`,
          fmt(
            mid(c, (s) => s.wall),
            2,
          ),
          fmt(cpu, 3),
          fmt((1000 * cpu) / g.n, 1),
          `${fmt(
            mid(c, (s) => s.user),
            3,
          )} / ${fmt(
            mid(c, (s) => s.sys),
            3,
          )}`,
          fmt(
            mid(c, (s) => s.minorFaults),
            0,
          ),
          fmt(
            mid(c, (s) => s.voluntarySwitches),
            0,
          ),
          fmt(
            mid(c, (s) => s.rssMb),
            0,
          ),
          `${fmt(
            mid(c, (s) => s.server),
            1,
          )}; ${fmt((1000 * mid(c, (s) => s.server)) / g.n, 1)}`,
          fmt(
            mid(c, (s) => s.firstConnect),
            3,
          ),
          range(
            c.samples.map((s) => s.load),
            1,
          ),
          range(
            c.samples.map((s) => s.machineBusy),
            2,
          ),
          fmt(state / 1024, 1),
        ]),
      );
    }
  }
}

/** opsbook ÷ floor per round where both succeeded. */
function pairedRatios(ops, floor, pick, pickFloor = pick) {
  return ops.samples
    .filter((s) => !s.failure)
    .map((s) => {
      const f = floor.samples.find((x) => x.round === s.round && !x.failure);
      return f ? pick(s) / pickFloor(f) : undefined;
    })
    .filter((r) => r !== undefined);
}

const verdict = (value, limit) =>
  Number.isNaN(value) ? 'no data' : value <= limit ? 'PASS' : 'FAIL';

function printTargets(groups) {
  console.log(
    `\ntargets per size (issue 18): wall ≤ ${LIMITS.wall}× and client CPU ≤ ${LIMITS.cpu}× the bare loop's, first connection ≤ ${LIMITS.firstConnectS} s after the spawn, every host ok on the defaults in every run`,
  );
  console.log(
    row([
      'hosts',
      'parallel',
      'run',
      'wall ratio by round',
      'wall',
      'CPU ratio by round',
      'CPU',
      'first connect: opsbook (bare loop); opsbook − bare by round',
      'start-up',
      'hosts ok, SSH timeouts',
      'every host ok',
      'bare loop: cores busy (its own; whole machine)',
      'CPU-bound ratio (client + host side)',
    ]),
  );
  console.log('|---:|---:|---|---|---|---|---|---|---|---|---|---:|---:|');
  const cores = cpus().length;
  for (const g of groups) {
    const floor = g.cases.find((c) => c.floor);
    for (const ops of g.cases.filter((c) => c.opsbook || c.baseline)) {
      if (floor) printTargetRow(g, ops, floor, cores);
    }
  }
}

/** `pick(opsbook) − pick(floor)` per round where both succeeded. */
function pairedDifferences(ops, floor, pick) {
  return ops.samples
    .filter((s) => !s.failure)
    .map((s) => {
      const f = floor.samples.find((x) => x.round === s.round && !x.failure);
      return f ? pick(s) - pick(f) : undefined;
    })
    .filter((d) => d !== undefined && !Number.isNaN(d));
}

function printTargetRow(g, ops, floor, cores) {
  const wall = pairedRatios(ops, floor, (s) => s.wall);
  const cpu = pairedRatios(ops, floor, (s) => s.cpu);
  const wallMid = wall.length ? median(wall) : Number.NaN;
  const cpuMid = cpu.length ? median(cpu) : Number.NaN;
  const firstConnect = mid(ops, (s) => s.firstConnect);
  const floorStart = mid(floor, (s) => s.firstConnect);
  // What opsbook adds before its first connection to the bare loop's own start (Node, ssh2).
  const above = pairedDifferences(ops, floor, (s) => s.firstConnect ?? Number.NaN);
  const hostsOk = ops.samples.map((s) => s.hostsOk ?? 0);
  const timeouts = ops.samples.reduce((a, s) => a + (s.timeouts ?? 0), 0);
  const everyOk = ops.samples.length > 0 && ops.samples.every((s) => !s.failure);
  // How much of the machine the floor itself uses, and the machine as a whole (everyone's
  // work): near `cores` the wall is CPU-bound, and the ratio it can show is that of the CPU
  // both sides (and the host side for them: sshd and the sessions' commands) need.
  const busy = mid(floor, (s) => (s.cpu + s.server) / s.wall);
  const machine = mid(floor, (s) => s.machineBusy);
  const bound = pairedRatios(ops, floor, (s) => s.cpu + s.server);
  const list = (rs) => rs.map((r) => r.toFixed(2)).join(', ');
  const notShowable =
    floorStart > LIMITS.firstConnectS
      ? ` (the bare loop's own start, ${fmt(floorStart, 2)} s, is above it here)`
      : '';
  console.log(
    row([
      g.n,
      g.concurrency,
      ops.tool,
      `${list(wall)} → ${fmt(wallMid, 2)}×`,
      `**${verdict(wallMid, LIMITS.wall)}**`,
      `${list(cpu)} → ${fmt(cpuMid, 2)}×`,
      `**${verdict(cpuMid, LIMITS.cpu)}**`,
      `${fmt(firstConnect, 3)} s (${fmt(floorStart, 3)} s); +${list(above)} s`,
      `**${verdict(firstConnect, LIMITS.firstConnectS)}**${notShowable}`,
      `${range(hostsOk, 0)} of ${g.n}, ${timeouts}`,
      `**${everyOk ? 'PASS' : 'FAIL'}**`,
      `${fmt(busy, 2)}; ${fmt(machine, 2)} of ${cores}${machine >= 0.9 * cores ? ' (saturated)' : ''}`,
      bound.length ? `${fmt(median(bound), 2)}×` : '—',
    ]),
  );
}

/**
 * Where a gap to the bare loop is, with the step session floor (the bare loop's client, opsbook's
 * host side): its own ratio to the bare loop is what the step session costs the host (and the
 * shared cores); opsbook ÷ it is opsbook's client beyond the step session's protocol.
 */
function printSessionFloor(groups) {
  const rows = groups.flatMap((g) => {
    const floor = g.cases.find((c) => c.floor);
    const session = g.cases.find((c) => c.sessionFloor);
    const ops = g.cases.find((c) => c.opsbook);
    return floor && session && ops ? [{ g, floor, session, ops }] : [];
  });
  if (rows.length === 0) return;
  console.log(
    '\nwhich side a gap is on: the step session floor (the bare loop sending its command through the step session, as opsbook does)',
  );
  console.log(
    row([
      'hosts',
      'parallel',
      'steps',
      'step session floor ÷ bare loop: wall (rounds)',
      'its client CPU',
      'the same, less loading its module: wall; client CPU',
      'host side ms / host: bare loop, step session floor, opsbook',
      'opsbook ÷ step session floor less its module load: wall (rounds)',
      'client CPU (rounds)',
    ]),
  );
  console.log('|---:|---:|---:|---|---|---|---|---|---|');
  const list = (rs) =>
    rs.length ? `${median(rs).toFixed(2)}× (${rs.map((r) => r.toFixed(2)).join(', ')})` : '—';
  const short = (rs) => (rs.length ? `${median(rs).toFixed(2)}×` : '—');
  const perHost = (c, g) => fmt((1000 * mid(c, (s) => s.server)) / g.n, 1);
  for (const { g, floor, session, ops } of rows) {
    console.log(
      row([
        g.n,
        g.concurrency,
        g.execs,
        list(pairedRatios(session, floor, (s) => s.wall)),
        list(pairedRatios(session, floor, (s) => s.cpu)),
        `${short(
          pairedRatios(
            session,
            floor,
            (s) => s.wall - (s.moduleLoad?.wall ?? 0),
            (s) => s.wall,
          ),
        )}; ${short(
          pairedRatios(
            session,
            floor,
            (s) => s.cpu - (s.moduleLoad?.cpu ?? 0),
            (s) => s.cpu,
          ),
        )}`,
        `${perHost(floor, g)}, ${perHost(session, g)}, ${perHost(ops, g)}`,
        list(
          pairedRatios(
            ops,
            session,
            (s) => s.wall,
            (f) => f.wall - (f.moduleLoad?.wall ?? 0),
          ),
        ),
        list(
          pairedRatios(
            ops,
            session,
            (s) => s.cpu,
            (f) => f.cpu - (f.moduleLoad?.cpu ?? 0),
          ),
        ),
      ]),
    );
  }
}

function printMemory(g, groups) {
  const ops = g.cases.find((c) => c.opsbook);
  if (!ops) return;
  const rss = mid(ops, (s) => s.rssMb);
  const floor = g.cases.find((c) => c.floor);
  // Per host: the growth from a smaller size at the same parallelism (the fixed part cancels).
  const smaller = groups
    .filter((x) => !x.memory && x.concurrency === g.concurrency && x.execs === 1 && x.n < g.n)
    .sort((a, b) => b.n - a.n)[0];
  const smallerOps = smaller?.cases.find((c) => c.opsbook);
  const perHost = smallerOps
    ? `${fmt(((rss - mid(smallerOps, (s) => s.rssMb)) * 1024) / (g.n - smaller.n), 1)} KB a host more from ${smaller.n} to ${g.n} hosts`
    : '';
  console.log(
    `\nmemory (issue 18): peak RSS of opsbook run on ${g.n} hosts at ${g.concurrency} in parallel ≤ ${LIMITS.memoryMb} MB: ${fmt(rss, 0)} MB **${verdict(rss, LIMITS.memoryMb)}** (bare loop ${
      floor
        ? fmt(
            mid(floor, (s) => s.rssMb),
            0,
          )
        : '—'
    } MB; ${perHost}; every host ok: ${ops.samples.every((s) => !s.failure) ? 'yes' : 'NO'})`,
  );
}

function printPhases(groups) {
  const rows = groups.flatMap((g) =>
    g.cases.filter((c) => c.samples.some((s) => s.phases)).map((c) => ({ g, c })),
  );
  if (rows.length === 0) return;
  console.log('\nwhere opsbook run spends its wall time (from its journal; medians, s):');
  console.log(
    '| hosts | parallel | run | before run-start | run-start → run-end | after run-end |',
  );
  console.log('|---:|---:|---|---:|---:|---:|');
  for (const { g, c } of rows) {
    const p = (k) => fmt(median(c.samples.map((s) => s.phases?.[k] ?? 0)), 2);
    console.log(
      `| ${g.n} | ${g.concurrency} | ${c.tool} | ${p('beforeRun')} | ${p('hosts')} | ${p('afterRun')} |`,
    );
  }
}
