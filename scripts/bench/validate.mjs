#!/usr/bin/env node
// Cold-start cost of the CLI: `opsbook validate` over 200 generated runbooks and
// `opsbook --version`, each a fresh process, against `node -e 0` as the floor.
// Two sets of 200 runbooks:
//   basic — copies of the four runbooks issue 2 asked for (run:/script: steps only);
//   mixed — copies of every runbook in runbooks/, round-robin, so that steps with `uses:` have
//           their `with:` checked against the built-in actions' schemas.
// Rounds are interleaved (floor, --version, basic, mixed, floor, …) so that a change in the
// machine's load hits every row alike. Prints medians and the targets of issue 2:
// validate 200 ≤ 400 ms, --version ≤ 120 ms.
//   BENCH_RUNS=15 (rounds)  BENCH_RUNBOOKS=200
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
// The built binary, spawned as a user runs it: its cold start is what is measured. A path, as in
// scripts/demo.mjs: the root does not depend on @opsbook/cli.
const bin = path.join(root, 'packages/cli/dist/bin.js');
const runs = Number(process.env.BENCH_RUNS ?? 15);
const count = Number(process.env.BENCH_RUNBOOKS ?? 200);

/** A folder with `count` runbooks copied round-robin from `sources`, each renamed. */
async function makeCatalog(dir, sources) {
  for (let i = 0; i < count; i++) {
    const src = sources[i % sources.length];
    const name = `${src}-${String(i).padStart(3, '0')}`;
    const target = path.join(dir, 'runbooks', name);
    await cp(path.join(root, 'runbooks', src), target, { recursive: true });
    const file = path.join(target, 'runbook.yaml');
    const yaml = await readFile(file, 'utf8');
    await writeFile(file, yaml.replace(`\n  name: ${src}\n`, `\n  name: ${name}\n`));
    await writeFile(
      path.join(target, 'package.json'),
      JSON.stringify({ name: `@runbooks/${name}`, version: '1.0.0', private: true }),
    );
  }
}

const work = await mkdtemp(path.join(tmpdir(), 'opsbook-bench-validate-'));
try {
  const all = (await readdir(path.join(root, 'runbooks'), { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const basic = ['collect-diagnostics', 'config-rollout', 'disk-cleanup', 'service-restart'];
  await makeCatalog(path.join(work, 'basic'), basic);
  await makeCatalog(path.join(work, 'mixed'), all);

  const valid = new RegExp(`✓ ${count} runbooks valid`);
  const rows = [
    { label: 'node -e 0 (floor)', args: ['-e', '0'], cwd: work },
    { label: 'opsbook --version', args: [bin, '--version'], cwd: work, expect: /^\d+\.\d+\.\d+/ },
    {
      label: `opsbook validate, ${count} basic`,
      args: [bin, 'validate'],
      cwd: path.join(work, 'basic'),
      expect: valid,
    },
    {
      label: `opsbook validate, ${count} mixed`,
      args: [bin, 'validate'],
      cwd: path.join(work, 'mixed'),
      expect: valid,
    },
  ].map((r) => ({ ...r, samples: [] }));

  for (let i = 0; i < runs; i++) {
    for (const row of rows) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, row.args, { cwd: row.cwd, encoding: 'utf8' });
      row.samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status !== 0 || (row.expect && !row.expect.test(r.stdout)))
        throw new Error(`${row.label} failed (exit ${r.status}): ${r.stdout}${r.stderr}`);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const row of rows) {
    row.median = median(row.samples);
    row.min = Math.min(...row.samples);
  }
  const floor = rows[0].median;
  console.log(
    `${'command'.padEnd(36)}${'median'.padStart(10)}${'min'.padStart(10)}${'÷ floor'.padStart(8)}${'− floor'.padStart(10)}`,
  );
  for (const r of rows) {
    console.log(
      [
        r.label.padEnd(36),
        `${r.median.toFixed(1)} ms`.padStart(10),
        `${r.min.toFixed(1)} ms`.padStart(10),
        `${(r.median / floor).toFixed(2)}×`.padStart(8),
        `${(r.median - floor).toFixed(1)} ms`.padStart(10),
      ].join(''),
    );
  }
  console.log(`\n${runs} interleaved rounds, node ${process.version}, ${count} runbooks a set.`);
  const met = (ms, limit) => (ms <= limit ? 'met' : 'NOT met');
  console.log(
    `targets: --version ≤ 120 ms (${met(rows[1].median, 120)}), validate ${count} ≤ 400 ms (basic ${met(rows[2].median, 400)}, mixed ${met(rows[3].median, 400)})`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
