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
 * Writes the journals under `<stateDir>/runs/` and returns the runs written ({runId, lines,
 * startedAt, endedAt}) and their total bytes. Hashes are placeholders: the report does not
 * verify journals (`opsbook journal verify` does).
 */
export async function writeHistory(stateDir, { hosts: HOSTS, days: DAYS, start }) {
  await mkdir(path.join(stateDir, 'runs'), { recursive: true });
  seed = 42;
  const runs = [];
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
    runs.push({
      runId: `daily-${d}`,
      lines,
      startedAt: new Date(start + d * 86_400_000).toISOString(),
      endedAt: new Date(t).toISOString(),
    });
  }
  return { runs, bytes };
}
