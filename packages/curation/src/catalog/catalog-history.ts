import type { JournalLine, RunState, RunSummary } from '@opsbook/state';
import { type HistoryStore, type LeftOutRun, readVerifiedRuns } from '../history/verified-runs.js';

/**
 * Which approvals and runs used each runbook version, from the run history of a state store
 * (files or PostgreSQL), every journal verified (`readVerifiedRuns`). A run's facts come from its
 * run-start event as the runner writes it:
 *   {runbook: {name, version, digest}, ticket, hosts, executor,
 *    approval: {id, signers: [{approverId, fingerprint}], maxRuns}}
 */

export interface CatalogRunFact {
  runId: string;
  runbook: string;
  version: string;
  status: RunState;
  ticket: string | null;
  startedAt: string | null;
  endedAt: string | null;
  /** How many hosts it ran on. */
  hosts: number;
  /** The bundle digest the run's approval was bound to. */
  digest: string | null;
  approval: { id: string; signers: string[]; maxRuns: number | null } | null;
  executor: string | null;
}

export interface CatalogHistory {
  store: { kind: string; location: string };
  runs: CatalogRunFact[];
  /** Runs left out: their journal is missing, unreadable or does not verify. */
  leftOut: LeftOutRun[];
}

export async function readCatalogHistory(store: HistoryStore): Promise<CatalogHistory> {
  const summaries = await store.listRuns();
  const { runs, leftOut } = await readVerifiedRuns(store, summaries, runFactOf);
  runs.sort((a, b) => (a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0));
  return { store: { kind: store.kind, location: store.location }, runs, leftOut };
}

function runFactOf(summary: RunSummary, events: readonly JournalLine[]): CatalogRunFact {
  const start = (events.find((e) => e.type === 'run-start') ?? {}) as Record<string, unknown>;
  const runbook = record(start.runbook);
  const approval = record(start.approval);
  const approvalId = text(approval?.id) ?? summary.approvalId ?? null;
  return {
    runId: summary.runId,
    runbook: summary.runbook ?? '',
    version: summary.version ?? '?',
    status: summary.status,
    ticket: summary.ticket ?? null,
    startedAt: summary.startedAt ?? null,
    endedAt: summary.endedAt ?? null,
    hosts: summary.hosts.total,
    digest: text(runbook?.digest) ?? null,
    approval: approvalId
      ? {
          id: approvalId,
          signers: Array.isArray(approval?.signers)
            ? approval.signers.flatMap((s) => text(record(s)?.approverId) ?? [])
            : [],
          maxRuns: typeof approval?.maxRuns === 'number' ? approval.maxRuns : null,
        }
      : null,
    executor: text(start.executor) ?? null,
  };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
