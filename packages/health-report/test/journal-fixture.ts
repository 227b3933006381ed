import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { filesStore, GENESIS_HASH, hashOfLine } from '@opsbook/state';
import type { ReportedFinding } from '../src/index.js';

/**
 * Writes journals in the runner's format (`<stateDir>/runs/<runId>.jsonl`, one event a line,
 * `uses:` step-ends carrying `result`, hash-chained) and records each run's claim and end in the
 * state dir's ledger, so the reader is tested on files, not on objects, and reads them as it
 * reads a runner's: a journal that does not verify against the ledger is left out.
 */
export interface HostDay {
  host: string;
  /** Omitted: the host never answered this run. */
  findings?: Array<
    Omit<ReportedFinding, 'host' | 'threshold' | 'value'> & {
      value?: ReportedFinding['value'];
      threshold?: number | null;
    }
  >;
  facts?: Record<string, unknown>;
}

export interface FixtureRun {
  runId: string;
  /** ISO time of run-start; events follow one second apart. */
  at: string;
  hosts: HostDay[];
}

export async function writeRuns(stateDir: string, runs: readonly FixtureRun[]): Promise<void> {
  await mkdir(path.join(stateDir, 'runs'), { recursive: true });
  const store = filesStore(stateDir);
  for (const run of runs) {
    const text = journalText(run);
    const lines = text.trimEnd().split('\n');
    const last = JSON.parse(lines.at(-1)!) as { hash: string };
    const { runId } = run;
    await store.claimRun({ approvalId: `apr-${runId}`, maxRuns: 1, runId, ticket: 'OPS-1' });
    await writeFile(path.join(stateDir, 'runs', `${runId}.jsonl`), text);
    await store.recordRunEnd({ runId, head: last.hash, count: lines.length, status: 'ok' });
  }
}

export function journalText(run: FixtureRun): string {
  const lines: Array<Record<string, unknown>> = [];
  let t = Date.parse(run.at);
  let prev = GENESIS_HASH;
  const push = (event: Record<string, unknown>) => {
    const line: Record<string, unknown> = {
      seq: lines.length + 1,
      at: new Date(t).toISOString(),
      prev,
      ...event,
    };
    line.hash = prev = hashOfLine(line);
    lines.push(line);
    t += 1000;
  };
  push({
    type: 'run-start',
    runId: run.runId,
    ticket: 'OPS-1',
    runbook: { name: 'daily-inspection', version: '1.0.0' },
    hosts: run.hosts.map((h) => h.host),
  });
  const outcome: Record<string, string> = {};
  for (const h of run.hosts) {
    push({ type: 'host-start', host: h.host, connection: { kind: 'ssh' } });
    if (!h.findings && !h.facts) {
      push({
        type: 'host-end',
        host: h.host,
        status: 'unreachable',
        rolledBack: false,
        error: 'connect ECONNREFUSED',
      });
      outcome[h.host] = 'unreachable';
      continue;
    }
    const byCheck = new Map<string, ReportedFinding[]>();
    for (const f of h.findings ?? []) {
      const full = { host: h.host, value: null, threshold: null, ...f } as ReportedFinding;
      byCheck.set(f.check, [...(byCheck.get(f.check) ?? []), full]);
    }
    for (const [check, findings] of byCheck) {
      push({ type: 'step-start', host: h.host, phase: 'steps', step: check, name: check });
      push({
        type: 'step-end',
        host: h.host,
        phase: 'steps',
        step: check,
        status: 'ok',
        exitCode: 0,
        durationMs: 12,
        uses: check,
        result: { findings },
      });
    }
    if (h.facts) {
      push({
        type: 'step-end',
        host: h.host,
        phase: 'steps',
        step: 'facts',
        status: 'ok',
        durationMs: 5,
        uses: 'inventory.collect',
        result: { facts: h.facts },
      });
    }
    push({ type: 'host-end', host: h.host, status: 'ok', rolledBack: false });
    outcome[h.host] = 'ok';
  }
  push({
    type: 'run-end',
    status: 'ok',
    hosts: outcome,
    interrupted: false,
    stoppedByFailures: false,
  });
  return `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
}
