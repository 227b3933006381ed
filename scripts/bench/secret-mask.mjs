#!/usr/bin/env node
// What masking a run's secrets costs on its output: 10 MiB of step output (log lines, base64 and
// hex blobs, a few secrets in plain and encoded forms) masked whole (`mask`, as a step's result is
// before it is journaled) and streamed (`maskStream`, as live output is shown) in 64 KiB chunks and
// in 80-byte chunks (a chatty step: one push per line), with three secrets: a 52-character token
// holding / + " ' =, a 160-character base64 key and a 22-character password.
// Two references measured in the same rounds, no target (issue #18 sets none for masking; this is
// the guard against a regression): GNU sed replacing the three secrets' plain forms over the file
// (a peer tool, the ratios' floor), and Node doing the same with replaceAll (a masker that knows
// no encoded form and no stream: what V8's string search alone costs).
// Every masker's output is checked first: no secret in any form the bench wrote may be left.
//
//   BENCH_RUNS=7 (rounds)   BENCH_MIB=10
//   BENCH_MASKERS=before=/path/secret-mask.mjs,after=…   maskers to compare in the same rounds
//                          (default: this checkout's packages/runner/dist/execute/secret-mask.js);
//                          an older version as one file: esbuild SRC/secret-mask.ts --bundle
//                          --platform=node --format=esm --outfile=old.mjs
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(import.meta.dirname, '../..');
const runs = Number(process.env.BENCH_RUNS ?? 7);
const mib = Number(process.env.BENCH_MIB ?? 10);
const maskers = (
  process.env.BENCH_MASKERS ?? path.join(root, 'packages/runner/dist/execute/secret-mask.js')
)
  .split(',')
  .map((m) => {
    const [name, file] = m.includes('=') ? m.split('=') : ['this checkout', m];
    return { name, file: path.resolve(file) };
  });

// A fixed generator: every run masks the same text.
let seed = 0x5eed;
const random = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
};
const pick = (xs) => xs[Math.floor(random() * xs.length)];
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const randomB64 = (n) => Array.from({ length: n }, () => pick(B64)).join('');

const secrets = [
  `tok/${randomB64(20)}+"q'=${randomB64(24)}`,
  randomB64(160),
  `pw-${randomB64(19)}`,
].map((s) => s.slice(0, s.length));

/** The forms of `s` the bench writes: plain, base64 on one line and at 76 columns, hex. */
function formsOf(s) {
  const b64 = Buffer.from(s).toString('base64');
  return {
    plain: s,
    base64: b64,
    wrapped: b64.match(/.{1,76}/g).join('\n'),
    hex: Buffer.from(s).toString('hex'),
  };
}

function makeText(bytes) {
  const words = ['connecting', 'retry', 'ok', 'GET', 'POST', '/api/v1/items', 'user=ops', 'took'];
  const lines = [];
  let size = 0;
  let n = 0;
  while (size < bytes) {
    n++;
    let line;
    const r = random();
    if (r < 0.001) {
      const f = formsOf(pick(secrets));
      line = `secret ${pick(['plain', 'base64', 'hex'])}: ${f[pick(['plain', 'base64', 'hex'])]}`;
    } else if (r < 0.0015) line = formsOf(pick(secrets)).wrapped;
    else if (r < 0.05)
      line = randomB64(76); // a certificate, a blob in a log
    else if (r < 0.07)
      line = Array.from({ length: 8 }, () => Math.floor(random() * 65536).toString(16)).join(' ');
    else
      line = `2026-12-07T21:${String(n % 60).padStart(2, '0')}:00Z INFO ${Array.from(
        { length: 4 + Math.floor(random() * 8) },
        () => pick(words),
      ).join(' ')} ${Math.floor(random() * 1e6)}ms`;
    lines.push(line);
    size += line.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

const text = makeText(mib * 1024 * 1024);
const leaks = (out) =>
  secrets.flatMap((s) => {
    const f = formsOf(s);
    return [f.plain, f.base64, f.hex, ...f.wrapped.split('\n').filter((l) => l.length >= 40)]
      .filter((form) => out.includes(form))
      .map((form) => form.slice(0, 12));
  });

const time = (fn) => {
  const t0 = process.hrtime.bigint();
  const out = fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, out };
};
const streamed = (mask, size) => () => {
  const s = mask.maskStream();
  let out = '';
  for (let i = 0; i < text.length; i += size) out += s.push(text.slice(i, i + size));
  return out + s.end();
};

const rows = [];
const work = await mkdtemp(path.join(tmpdir(), 'opsbook-bench-mask-'));
try {
  const file = path.join(work, 'output.txt');
  await writeFile(file, text);
  const sedScript = secrets
    .map((s) => `s/${s.replace(/[\\/.*[\]^$&]/g, (c) => `\\${c}`)}/***/g`)
    .join('\n');
  await writeFile(path.join(work, 'mask.sed'), `${sedScript}\n`);
  rows.push({
    label: 'Node replaceAll of the plain forms',
    run: () => time(() => secrets.reduce((t, s) => t.replaceAll(s, '***'), text)),
  });
  rows.push({
    label: 'floor: GNU sed of the plain forms',
    floor: true,
    run: () => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync('sed', ['-f', path.join(work, 'mask.sed'), file], {
        maxBuffer: 1 << 30,
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`sed: ${r.stderr}`);
      return { ms: Number(process.hrtime.bigint() - t0) / 1e6, out: r.stdout };
    },
  });
  for (const m of maskers) {
    const { createSecretMask } = await import(pathToFileURL(m.file).href);
    const built = time(() => createSecretMask(secrets));
    const mask = built.out;
    const checks = [
      ['mask, whole', () => mask.mask(text)],
      ['stream, 64 KiB chunks', streamed(mask, 64 * 1024)],
      ['stream, 80-byte chunks', streamed(mask, 80)],
    ];
    for (const [what, fn] of checks) {
      const left = leaks(fn());
      if (left.length) throw new Error(`${m.name}, ${what}: secrets left: ${left.join(', ')}`);
      rows.push({ label: `${m.name}: ${what}`, run: () => time(fn), masker: m.name });
    }
    console.log(`${m.name}: masker built in ${built.ms.toFixed(1)} ms (${m.file})`);
  }
  const loads = [];
  for (const row of rows) row.samples = [];
  for (let round = 0; round < runs; round++) {
    loads.push(loadavg()[0]);
    const order = round % 2 ? [...rows].reverse() : rows;
    for (const row of order) row.samples.push(row.run().ms);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const floor = median(rows.find((r) => r.floor).samples);
  console.log(
    `\n${(text.length / 1048576).toFixed(1)} MiB, ${text.split('\n').length - 1} lines, ${runs} rounds, order reversed every other round; load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`,
  );
  console.log(`${'what'.padEnd(52)} ${'median'.padStart(10)} ${'fastest'.padStart(10)}  ÷ sed`);
  for (const row of rows) {
    const med = median(row.samples);
    console.log(
      `${row.label.padEnd(52)} ${`${med.toFixed(1)} ms`.padStart(10)} ${`${Math.min(...row.samples).toFixed(1)} ms`.padStart(10)}  ${(med / floor).toFixed(2)}×`,
    );
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
