// BENCH_INSTRUCTIONS=N of fanout.mjs: client CPU as instructions, which the machine's load does
// not move (wall times and rusage do: other engineers' work shares the two cores). Each case of
// each size runs N more times under `valgrind --tool=callgrind --trace-children=no` (the order
// alternating per round, as in the timed rounds), and its instructions executed (callgrind's
// total Ir, every thread of the process: V8's compiler and GC threads too) are reported with
// opsbook's ratio to the bare loop of the same round. Under valgrind a process runs ~50× slower,
// so keep the sizes small (BENCH_INSTRUCTIONS_SIZES, default 50:10: fewer hosts in flight keep
// every host's connect timer, which opsbook starts at 10 s, clear of the slowdown).
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { median, waitForIdleSshd } from './bench-measure.mjs';
import { cleanEnv, isStopping, runGroup } from './bench-processes.mjs';

/** Callgrind's total instructions of one run of case `c` (prepared as `measure` prepares it). */
async function instructionsOf(c, world, timeoutMs) {
  const prepared = c.prepare ? await c.prepare() : c.argv;
  const { argv, stateDir } = Array.isArray(prepared) ? { argv: prepared } : prepared;
  await waitForIdleSshd(world.sshd);
  const out = path.join(world.dir, 'callgrind.out');
  await rm(out, { force: true });
  const r = await runGroup(
    [
      'valgrind',
      '--tool=callgrind',
      '--trace-children=no',
      `--callgrind-out-file=${out}`,
      ...argv.map(String),
    ],
    { cwd: world.dir, env: cleanEnv() },
    timeoutMs,
  );
  if (r.timedOut) throw new Error(`${c.tool} under callgrind did not finish in ${timeoutMs} ms`);
  const sample = { stateDir };
  if (c.record) await c.record(r, sample);
  if (!c.ok(r, sample))
    throw new Error(
      `${c.tool} under callgrind failed (exit ${r.code}): ${c.failureOf?.(r, sample) ?? ''}\n${r.stderr.slice(-2000)}`,
    );
  const total = (await readFile(out, 'utf8')).match(/^totals: (\d+)/m)?.[1];
  if (!total) throw new Error(`callgrind wrote no total for ${c.tool}`);
  await rm(out, { force: true });
  return Number(total);
}

/**
 * N rounds of every case of every group under callgrind; prints a table per size: median
 * instructions per case (min–max), and opsbook's (and its baselines') ratio to the bare loop of
 * the same round, median and per round.
 */
export async function measureInstructions(groups, rounds, world, timeoutMs) {
  for (const g of groups) for (const c of g.cases) c.instructions = [];
  for (let round = 1; round <= rounds; round++) {
    for (const g of groups) {
      const order = round % 2 === 1 ? g.cases : [...g.cases].reverse();
      for (const c of order) {
        if (isStopping()) throw new Error('interrupted');
        const ir = await instructionsOf(c, world, timeoutMs);
        c.instructions[round - 1] = ir;
        console.error(
          `callgrind round ${round}/${rounds}  ${String(g.n).padStart(4)} hosts ×${String(g.concurrency).padEnd(4)} ${c.tool.padEnd(30)} ${(ir / 1e6).toFixed(1)} M instructions`,
        );
      }
    }
  }
  console.log(
    '\nclient instructions (callgrind total Ir, every thread; the load does not move them):',
  );
  for (const g of groups) {
    const floor = g.cases.find((c) => c.floor);
    console.log(`\n${g.n} hosts, ${g.concurrency} in parallel, ${rounds} round(s):`);
    for (const c of g.cases) {
      const m = (values) => (median(values) / 1e6).toFixed(1);
      const range = `${(Math.min(...c.instructions) / 1e6).toFixed(1)}–${(Math.max(...c.instructions) / 1e6).toFixed(1)}`;
      const ratios =
        floor && c !== floor ? c.instructions.map((ir, i) => ir / floor.instructions[i]) : [];
      const ratio = ratios.length
        ? `  ${median(ratios).toFixed(3)}× the bare loop (rounds ${ratios.map((x) => x.toFixed(3)).join(', ')})`
        : '';
      console.log(`  ${c.tool.padEnd(34)} ${m(c.instructions).padStart(8)} M (${range})${ratio}`);
    }
  }
}
