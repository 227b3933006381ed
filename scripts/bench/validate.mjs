#!/usr/bin/env node
// Cold-start cost of the CLI: `opsbook validate` over 200 generated runbooks and
// `opsbook --version`, each a fresh process, against `node -e 0` as the floor.
// Prints medians of N runs and ratios; targets (issue 2): validate 200 ≤ 400 ms, --version ≤ 120 ms.
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'packages/cli/dist/bin.js');
const runs = Number(process.env.BENCH_RUNS ?? 15);
const count = Number(process.env.BENCH_RUNBOOKS ?? 200);

const work = await mkdtemp(path.join(tmpdir(), 'opsbook-bench-validate-'));
try {
  const sources = ['collect-diagnostics', 'config-rollout', 'disk-cleanup', 'service-restart'];
  for (let i = 0; i < count; i++) {
    const src = sources[i % sources.length];
    const name = `${src}-${String(i).padStart(3, '0')}`;
    const dir = path.join(work, 'runbooks', name);
    await cp(path.join(root, 'runbooks', src), dir, { recursive: true });
    const yaml = await readFile(path.join(dir, 'runbook.yaml'), 'utf8');
    await writeFile(path.join(dir, 'runbook.yaml'), yaml.replace(`name: ${src}`, `name: ${name}`));
    await writeFile(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: `@runbooks/${name}`, version: '1.0.0', private: true }),
    );
  }

  const time = (label, args, expectStdout) => {
    const samples = [];
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, args, { cwd: work, encoding: 'utf8' });
      samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status !== 0 || (expectStdout && !expectStdout.test(r.stdout))) {
        throw new Error(`${label} failed (exit ${r.status}): ${r.stdout}${r.stderr}`);
      }
    }
    samples.sort((a, b) => a - b);
    return { label, median: samples[Math.floor(samples.length / 2)], min: samples[0] };
  };

  const floor = time('node -e 0', ['-e', '0']);
  const version = time('opsbook --version', [bin, '--version'], /^\d+\.\d+\.\d+/);
  const validate = time(
    `opsbook validate (${count} runbooks)`,
    [bin, 'validate'],
    new RegExp(`✓ ${count} runbooks valid`),
  );

  const rows = [floor, version, validate].map((r) => [
    r.label.padEnd(36),
    `${r.median.toFixed(1)} ms`.padStart(10),
    `${r.min.toFixed(1)} ms`.padStart(10),
    `${(r.median / floor.median).toFixed(2)}×`.padStart(8),
    `${(r.median - floor.median).toFixed(1)} ms`.padStart(10),
  ]);
  console.log(
    `${'command'.padEnd(36)}${'median'.padStart(10)}${'min'.padStart(10)}${'÷ floor'.padStart(8)}${'− floor'.padStart(10)}`,
  );
  for (const r of rows) console.log(r.join(''));
  console.log(`\n${runs} runs each, node ${process.version}, ${count} runbooks.`);
  console.log(
    `targets: --version ≤ 120 ms (${version.median <= 120 ? 'met' : 'NOT met'}), validate ${count} ≤ 400 ms (${validate.median <= 400 ? 'met' : 'NOT met'})`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
