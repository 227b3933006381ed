// The tables inspect.mjs prints: medians per tool, opsbook's ratios per round and their medians,
// where opsbook's wall time went, and the issue-6 target.
import { cpus, totalmem } from 'node:os';
import { describeSample, hostCpuSource, median } from './bench-measure.mjs';
import { removedEnvNote } from './bench-processes.mjs';

/** The progress line of a case's latest sample, with what the run did. */
export function describeRound(c, round, runs) {
  const s = c.samples[c.samples.length - 1];
  return `${describeSample(c, s, round, runs)}${describeWork(s) ? `; ${describeWork(s)}` : ''}`;
}

function describeWork(s) {
  if (s.findings) {
    const by = Object.entries(s.findings.byStatus)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ');
    return `${s.findings.total} findings (${by}) from ${s.findings.stepEnds} checks`;
  }
  if (s.tasksOk !== undefined) return `${s.tasksOk} tasks ok`;
  return '';
}

const fmt = (x, digits) => (x === undefined || Number.isNaN(x) ? '—' : x.toFixed(digits));

/** Issue 6's target on opsbook's wall ÷ `ansible -m setup`'s at one size. */
const verdict = (ratio) => (Number.isNaN(ratio) ? 'no data' : ratio <= 0.3 ? 'PASS' : 'FAIL');

export function reportInspection({ world, cases, checklist, runs, sizes }) {
  const good = (c) => c.samples.filter((s) => !s.failure);
  const mid = (c, pick) => (good(c).length > 0 ? median(good(c).map(pick)) : Number.NaN);
  const rows = cases.map((c) => ({
    ...c,
    failures: c.samples.filter((s) => s.failure).map((s) => s.failure),
    wall: mid(c, (s) => s.wall),
    cpu: mid(c, (s) => s.cpu),
    rss: mid(c, (s) => s.rssMb),
    server: mid(c, (s) => s.server),
  }));
  const opsbookAt = (n) => rows.find((r) => r.opsbook && r.n === n);
  const loads = (r) => {
    const xs = r.samples.map((x) => x.load).filter((x) => x !== undefined);
    return xs.length ? `${fmt(Math.min(...xs), 1)}–${fmt(Math.max(...xs), 1)}` : '—';
  };
  console.log(
    `\nthe daily-inspection checklist (${checklist.checks} checks per host${checklist.skipped.length ? `, without ${checklist.skipped.join(', ')}` : ''}); medians of the successful runs of ${runs} each\n`,
  );
  if (removedEnvNote()) console.log(`${removedEnvNote()}\n`);
  console.log(
    '| hosts | parallel | tool | wall (s) | client CPU user+sys (s) | client CPU / host (ms) | peak RSS (MB) | host side CPU (s) | work done | load (1 min) | opsbook wall ÷ this | target |',
  );
  console.log('|---:|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---|');
  for (const r of rows) {
    const ops = opsbookAt(r.n);
    const ratio = ops && !r.opsbook ? `${fmt(ops.wall / r.wall, 2)}×` : '';
    // The target is on the setup row: opsbook's wall ÷ Ansible's fact gathering at this size.
    const target =
      ops && r.tool === 'ansible -m setup' ? `≤ 0.3×: ${verdict(ops.wall / r.wall)}` : '';
    const failed = r.failures.length
      ? ` (${r.failures.length} of ${r.samples.length} runs failed)`
      : '';
    const work = describeWork(r.samples[r.samples.length - 1]);
    console.log(
      `| ${r.n} | ${r.concurrency} | ${r.tool}${failed} | ${fmt(r.wall, 2)} | ${fmt(r.cpu, 2)} | ${fmt((1000 * r.cpu) / r.n, 1)} | ${fmt(r.rss, 0)} | ${fmt(r.server, 1)} | ${work} | ${loads(r)} | ${ratio} | ${target} |`,
    );
  }
  console.log(
    `\nnode ${process.version}; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; ${(totalmem() / 2 ** 30).toFixed(0)} GiB; sshd on 127.0.0.1:${world.port}; host side CPU: ${hostCpuSource(world.sshd)}`,
  );
  reportRounds(rows, sizes, runs);
  reportPhases(rows);
  reportSteps(rows);
  for (const r of rows.filter((x) => x.failures.length > 0)) {
    console.log(`\n${r.tool} on ${r.n} hosts, failed runs:`);
    for (const f of r.failures) console.log(`  - ${f}`);
  }
  reportTarget(rows, sizes, checklist);
}

/** opsbook's wall ÷ each Ansible row, round by round (same round = same machine phase), and the median. */
function reportRounds(rows, sizes, runs) {
  const setup = (n) => rows.find((r) => r.n === n && r.tool === 'ansible -m setup');
  const playbook = (n) => rows.find((r) => r.n === n && r.tool.startsWith('ansible-playbook'));
  console.log('\nopsbook wall ÷ Ansible wall, per round:');
  console.log(
    '| hosts | round | opsbook (s) | ÷ ansible -m setup | ÷ ansible-playbook, same checks |',
  );
  console.log('|---:|---|---:|---:|---:|');
  for (const n of sizes) {
    const ops = rows.find((r) => r.opsbook && r.n === n);
    if (!ops) continue;
    const ratios = { setup: [], playbook: [] };
    const ratio = (other, i, key) => {
      const a = ops.samples[i];
      const b = other?.samples[i];
      if (!a || !b || a.failure || b.failure) return '—';
      ratios[key].push(a.wall / b.wall);
      return `${fmt(a.wall / b.wall, 2)}×`;
    };
    for (let i = 0; i < runs; i++) {
      const s = ops.samples[i];
      console.log(
        `| ${n} | ${i + 1} | ${fmt(s?.failure ? undefined : s?.wall, 2)} | ${ratio(setup(n), i, 'setup')} | ${ratio(playbook(n), i, 'playbook')} |`,
      );
    }
    const m = (xs) => (xs.length ? `${fmt(median(xs), 2)}×` : '—');
    console.log(
      `| ${n} | median | ${fmt(ops.wall, 2)} | ${m(ratios.setup)} | ${m(ratios.playbook)} |`,
    );
  }
}

function reportPhases(rows) {
  const phased = rows.filter((r) => r.samples.some((s) => s.phases));
  if (phased.length === 0) return;
  console.log(
    '\nwhere opsbook run spends its wall time (from its journal; medians of all runs, s):',
  );
  console.log('| hosts | before run-start | run-start → run-end | after run-end |');
  console.log('|---:|---:|---:|---:|');
  for (const r of phased) {
    const p = (k) => median(r.samples.map((s) => s.phases?.[k] ?? 0)).toFixed(2);
    console.log(`| ${r.n} | ${p('beforeRun')} | ${p('hosts')} | ${p('afterRun')} |`);
  }
}

/** Each check's mean time per host in opsbook's runs (median over rounds), slowest first. */
function reportSteps(rows) {
  const timed = rows.filter((r) => r.samples.some((s) => s.stepSeconds));
  if (timed.length === 0) return;
  const steps = Object.keys(timed[0].samples.find((s) => s.stepSeconds).stepSeconds);
  const at = (r, step) => median(r.samples.map((s) => s.stepSeconds?.[step] ?? 0));
  steps.sort((a, b) => at(timed[timed.length - 1], b) - at(timed[timed.length - 1], a));
  console.log(
    '\nopsbook: mean time of each check per host (s; median of the rounds), slowest first:',
  );
  console.log(`| check | ${timed.map((r) => `${r.n} hosts`).join(' | ')} |`);
  console.log(`|---|${timed.map(() => '---:').join('|')}|`);
  for (const step of steps)
    console.log(`| ${step} | ${timed.map((r) => fmt(at(r, step), 2)).join(' | ')} |`);
}

function reportTarget(rows, sizes, checklist) {
  const what = checklist.skipped.length
    ? `the checklist WITHOUT ${checklist.skipped.join(', ')} (the target is for the full one)`
    : 'the full checklist';
  console.log('\ntarget (issue 6):');
  for (const n of sizes) {
    const ops = rows.find((r) => r.opsbook && r.n === n);
    const setup = rows.find((r) => r.n === n && r.tool === 'ansible -m setup');
    if (!ops || !setup) continue;
    const value = ops.wall / setup.wall;
    console.log(
      `  ${verdict(value).padEnd(7)}  wall of ${what} ≤ 0.3× ansible -m setup, ${n} hosts: ${fmt(value, 2)}× (medians)`,
    );
  }
}
