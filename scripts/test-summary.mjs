#!/usr/bin/env node
// Adds up every package's vitest JSON report into one closing line: "N passed, N failed".
// A package whose report is missing (its tests did not run) counts as a failure.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
for (const group of ['packages']) {
  for (const name of (await readdir(path.join(root, group))).sort()) {
    const pkg = JSON.parse(await readFile(path.join(root, group, name, 'package.json'), 'utf8'));
    if (!pkg.scripts?.test) continue;
    const report = path.join(root, group, name, 'test-results', 'vitest.json');
    try {
      const r = JSON.parse(await readFile(report, 'utf8'));
      passed += r.numPassedTests;
      failed += r.numFailedTests;
      skipped += r.numPendingTests + r.numTodoTests;
      const suitesFailed = r.numFailedTestSuites ?? 0;
      if (suitesFailed && !r.numFailedTests) failed += suitesFailed;
      console.log(`${pkg.name.padEnd(24)} ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
    } catch {
      missing.push(pkg.name);
    }
  }
}
for (const m of missing) console.log(`${m.padEnd(24)} no test report: its tests did not run`);
failed += missing.length;
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed ? 1 : 0;
