#!/usr/bin/env node
// Health report at scale (issue 8): 1,000 hosts × 30 days of daily inspections, written as
// run journals in a temp state dir, then read, scored and rendered.
// Targets: render HTML ≤ 2 s, HTML ≤ 5 MB. Prints each phase; the targets apply to the HTML
// render of the computed report, the other phases are printed so nothing hides.
// Needs `pnpm build` first (imports @opsbook/health-report, which is its dist/).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const { computeReport, readHistory, renderHtml, renderJson, renderMarkdown } = await import(
  '@opsbook/health-report'
);
const HOSTS = Number(process.env.BENCH_HOSTS ?? 1000);
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const start = Date.parse('2025-03-01T06:00:00Z');
const now = new Date(start + DAYS * 86_400_000);

// A seeded generator: every run of the bench measures the same history.
let seed = 42;
const rand = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};
const grade = (v, warn, crit) => (v >= crit ? 'crit' : v >= warn ? 'warn' : 'ok');

function hostFindings(host, i, d) {
  const disk = Math.min(100, Math.round(30 + (i % 50) + d * (i % 4) * 0.5 + rand() * 3));
  const data = Math.min(100, Math.round(20 + (i % 30) + d * (i % 3) + rand() * 2));
  const mem = Math.round(40 + rand() * 55);
  const f = (check, subject, status, value, threshold, unit, message) => ({
    host,
    check,
    subject,
    status,
    value,
    threshold,
    unit,
    message,
  });
  return {
    'inspection.disk': [
      f('inspection.disk', '/', grade(disk, 80, 90), disk, 80, '%', `/ is ${disk}% full`),
      f('inspection.disk', '/data', grade(data, 80, 90), data, 80, '%', `/data is ${data}% full`),
    ],
    'inspection.memory': [
      f('inspection.memory', 'memory', grade(mem, 85, 95), mem, 85, '%', `memory ${mem}% in use`),
    ],
    'inspection.load': [
      f(
        'inspection.load',
        'load15',
        rand() < 0.03 ? 'warn' : 'ok',
        0.4,
        1.5,
        'per-core',
        'load per core 0.4',
      ),
    ],
    'inspection.failed-units': [
      f(
        'inspection.failed-units',
        undefined,
        rand() < 0.01 ? 'crit' : 'ok',
        0,
        1,
        'count',
        'no failed units',
      ),
    ],
    'inspection.time-sync': [
      f(
        'inspection.time-sync',
        'chrony',
        i % 97 === 0 ? 'unknown' : 'ok',
        i % 97 === 0 ? null : 3,
        100,
        'ms',
        'clock offset 3 ms',
      ),
    ],
  };
}

async function writeHistory(stateDir) {
  await mkdir(path.join(stateDir, 'runs'), { recursive: true });
  let bytes = 0;
  for (let d = 0; d < DAYS; d++) {
    let t = start + d * 86_400_000;
    const lines = [];
    const push = (e) => {
      t += 50;
      lines.push(
        JSON.stringify({
          seq: lines.length + 1,
          at: new Date(t).toISOString(),
          prev: 'sha256:bench',
          ...e,
          hash: 'sha256:bench',
        }),
      );
    };
    const hosts = Array.from(
      { length: HOSTS },
      (_, i) => `host-${String(i).padStart(4, '0')}.prod.example`,
    );
    push({
      type: 'run-start',
      runId: `daily-${d}`,
      ticket: 'OPS-1',
      runbook: { name: 'daily-inspection', version: '1.0.0' },
      hosts,
    });
    hosts.forEach((host, i) => {
      push({ type: 'host-start', host });
      if (i % 500 === 499) {
        push({ type: 'host-end', host, status: 'unreachable', rolledBack: false });
        return;
      }
      for (const [check, findings] of Object.entries(hostFindings(host, i, d))) {
        push({
          type: 'step-end',
          host,
          phase: 'steps',
          step: check,
          status: 'ok',
          exitCode: 0,
          durationMs: 20,
          uses: check,
          result: { findings },
        });
      }
      push({ type: 'host-end', host, status: 'ok', rolledBack: false });
    });
    push({
      type: 'run-end',
      status: 'ok',
      hosts: {},
      interrupted: false,
      stoppedByFailures: false,
    });
    const text = `${lines.join('\n')}\n`;
    bytes += Buffer.byteLength(text);
    await writeFile(path.join(stateDir, 'runs', `daily-${d}.jsonl`), text);
  }
  return bytes;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

const work = await mkdtemp(path.join(tmpdir(), 'opsbook-bench-report-'));
try {
  const stateDir = path.join(work, 'state');
  const journalBytes = await writeHistory(stateDir);
  const range = { since: new Date(start - 86_400_000), until: now };
  const reads = [],
    computes = [],
    htmls = [],
    mds = [],
    jsons = [];
  let html = '',
    md = '',
    json = '',
    report;
  for (let r = 0; r < RUNS; r++) {
    const read = await time(() => readHistory(stateDir, range));
    const computed = await time(() => computeReport(read.value, { range, now }));
    const h = await time(() => renderHtml(computed.value));
    const m = await time(() => renderMarkdown(computed.value));
    const j = await time(() => renderJson(computed.value));
    reads.push(read.ms);
    computes.push(computed.ms);
    htmls.push(h.ms);
    mds.push(m.ms);
    jsons.push(j.ms);
    ({ value: report } = computed);
    html = h.value;
    md = m.value;
    json = j.value;
  }
  const mb = (n) => (n / 1024 / 1024).toFixed(2);
  const total = median(reads) + median(computes) + median(htmls);
  const rows = [
    [
      'history',
      `${HOSTS} hosts × ${DAYS} days, ${report.findings.length} current findings, journals ${mb(journalBytes)} MB in ${DAYS} files`,
    ],
    ['read journals (median)', `${median(reads).toFixed(0)} ms`],
    ['compute report (median)', `${median(computes).toFixed(0)} ms`],
    ['render HTML (median)', `${median(htmls).toFixed(0)} ms  (target ≤ 2000 ms)`],
    ['read + compute + render HTML', `${total.toFixed(0)} ms`],
    [
      'render Markdown / JSON (median)',
      `${median(mds).toFixed(1)} ms / ${median(jsons).toFixed(0)} ms`,
    ],
    ['HTML size', `${mb(Buffer.byteLength(html))} MB  (target ≤ 5 MB)`],
    ['Markdown size', `${(Buffer.byteLength(md) / 1024).toFixed(1)} KB  (limit 32 KB)`],
    ['JSON size', `${mb(Buffer.byteLength(json))} MB`],
  ];
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(34)} ${v}\n`);
  const ok =
    median(htmls) <= 2000 &&
    Buffer.byteLength(html) <= 5 * 1024 * 1024 &&
    Buffer.byteLength(md) <= 32 * 1024;
  process.stdout.write(
    `${ok ? 'PASS' : 'FAIL'}: HTML render ≤ 2 s and ≤ 5 MB, Markdown ≤ 32 KB (node ${process.version}, ${RUNS} runs, load average ${loadavg()[0].toFixed(1)})\n`,
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  await rm(work, { recursive: true, force: true });
}
