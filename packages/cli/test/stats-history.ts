import type { StateStore } from '@opsbook/state';

/** One step's end on one host, as the runner journals it. */
export interface JournaledStep {
  phase: 'prechecks' | 'steps' | 'postchecks' | 'rollback' | 'evidence';
  step: string;
  status: 'ok' | 'failed' | 'timeout' | 'error';
}

export interface JournaledRun {
  runId: string;
  runbook: string;
  version: string;
  /** When it started; it ends `seconds` later (its run-end), or never with `status: null`. */
  at: Date;
  seconds: number;
  status: 'ok' | 'failed' | 'unreachable' | 'interrupted' | null;
  hosts: Record<string, { steps: JournaledStep[]; status: string; rolledBack?: boolean }>;
}

/**
 * Journals a run in `store` through @opsbook/state's own journal (hash chain, ledger claim,
 * recorded end), with the events the runner writes and a clock set by the test, so that
 * `opsbook stats` reads it as any run and a known answer can be computed by hand.
 */
export async function journalRun(store: StateStore, run: JournaledRun): Promise<void> {
  let now = run.at;
  await store.claimRun({
    approvalId: `apr-${run.runId}`,
    maxRuns: 1,
    runId: run.runId,
    ticket: 'OPS-7',
  });
  const journal = await store.createJournal(run.runId, { clock: () => now });
  await journal.append({
    type: 'run-start',
    runId: run.runId,
    ticket: 'OPS-7',
    runbook: { name: run.runbook, version: run.version },
    hosts: Object.keys(run.hosts),
  });
  now = new Date(run.at.getTime() + 1000);
  for (const [host, h] of Object.entries(run.hosts)) {
    for (const s of h.steps)
      await journal.append({
        type: 'step-end',
        host,
        phase: s.phase,
        step: s.step,
        status: s.status,
        exitCode: s.status === 'ok' ? 0 : 1,
        signal: null,
        durationMs: 250,
        stdout: '',
        stderr: '',
        truncated: false,
      });
    await journal.append({
      type: 'host-end',
      host,
      status: h.status,
      rolledBack: h.rolledBack ?? false,
    });
  }
  if (run.status !== null) {
    now = new Date(run.at.getTime() + run.seconds * 1000);
    await journal.append({
      type: 'run-end',
      status: run.status,
      hosts: Object.fromEntries(Object.entries(run.hosts).map(([h, x]) => [h, x.status])),
      interrupted: run.status === 'interrupted',
      stoppedByFailures: false,
    });
  }
  await journal.close();
  if (run.status !== null)
    await store.recordRunEnd({
      runId: run.runId,
      head: journal.head,
      count: journal.count,
      status: run.status,
    });
}

const DAY = 86_400_000;

/** `days` days before now, at a whole second. */
export function daysAgo(days: number, now = Date.now()): Date {
  return new Date(Math.floor((now - days * DAY) / 1000) * 1000);
}

/** A run id as the runner makes them (they sort by start time). */
export function runIdAt(at: Date, suffix: string): string {
  return `${at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}-${suffix}`;
}
