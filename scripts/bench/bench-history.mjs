// The generated history of the report benchmark (report.mjs): HOSTS hosts × DAYS daily
// inspection runs of 5 checks (7 findings a host a day; every 500th host unreachable), as the
// runner journals them. Seeded: every run of the bench measures the same history.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

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

/**
 * Writes the journals under `<stateDir>/runs/`, hash-chained as the runner writes them, and the
 * ledger recording each run's claim and end (head, count, status), so that every view reads them
 * as a runner's runs (a journal that does not verify is left out); returns the runs written
 * ({runId, lines, head, startedAt, endedAt}) and their total bytes.
 */
export async function writeHistory(stateDir, { hosts: HOSTS, days: DAYS, start }) {
  const { GENESIS_HASH, hashOfLine } = await import('@opsbook/state');
  await mkdir(path.join(stateDir, 'runs'), { recursive: true });
  seed = 42;
  const runs = [];
  const ledger = [];
  let bytes = 0;
  for (let d = 0; d < DAYS; d++) {
    let t = start + d * 86_400_000;
    const lines = [];
    let prev = GENESIS_HASH;
    const push = (e) => {
      t += 50;
      const line = { seq: lines.length + 1, at: new Date(t).toISOString(), prev, ...e };
      line.hash = hashOfLine(line);
      prev = line.hash;
      lines.push(JSON.stringify(line));
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
    const run = {
      runId: `daily-${d}`,
      lines,
      head: prev,
      startedAt: new Date(start + d * 86_400_000).toISOString(),
      endedAt: new Date(t).toISOString(),
    };
    runs.push(run);
    const { runId, startedAt: at, endedAt } = run;
    ledger.push(
      { type: 'run', approvalId: 'apr-bench', runId, ticket: 'OPS-1', at },
      { type: 'run-end', runId, head: prev, count: lines.length, status: 'ok', at: endedAt },
    );
  }
  await writeFile(
    path.join(stateDir, 'ledger.jsonl'),
    ledger.map((r) => `${JSON.stringify(r)}\n`).join(''),
  );
  return { runs, bytes };
}
