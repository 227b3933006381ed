import { cp, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { filesStore, migrateStateStore, postgresStore, type StateStore } from '@opsbook/state';
import type { Postgres } from '@opsbook/testkit/postgres';
import { repoRoot } from './run-cli.js';

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
  /** The approval it ran under, as run-start names it (default `apr-<runId>`, unsigned). */
  approval?: { id: string; signers: string[]; maxRuns: number };
  ticket?: string;
  executor?: string;
  /** The bundle digest its approval was bound to. */
  digest?: string;
}

/**
 * Journals a run in `store` through @opsbook/state's own journal (hash chain, ledger claim,
 * recorded end), with the events the runner writes and a clock set by the test, so that
 * `opsbook stats` reads it as any run and a known answer can be computed by hand.
 */
export async function journalRun(store: StateStore, run: JournaledRun): Promise<void> {
  let now = run.at;
  const ticket = run.ticket ?? 'OPS-7';
  await store.claimRun({
    approvalId: run.approval?.id ?? `apr-${run.runId}`,
    maxRuns: run.approval?.maxRuns ?? 1,
    runId: run.runId,
    ticket,
  });
  const journal = await store.createJournal(run.runId, { clock: () => now });
  await journal.append({
    type: 'run-start',
    runId: run.runId,
    ticket,
    runbook: {
      name: run.runbook,
      version: run.version,
      ...(run.digest ? { digest: run.digest } : {}),
    },
    ...(run.approval
      ? {
          approval: {
            id: run.approval.id,
            signers: run.approval.signers.map((approverId) => ({ approverId })),
            maxRuns: run.approval.maxRuns,
          },
        }
      : {}),
    ...(run.executor ? { executor: run.executor } : {}),
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

/** A repository at `dir` holding the shipped `runbooks`, its opsbook.yaml ending in `config`. */
export async function workingCopy(
  dir: string,
  runbooks: readonly string[],
  config = '',
): Promise<string> {
  await mkdir(path.join(dir, 'runbooks'), { recursive: true });
  await writeFile(
    path.join(dir, 'opsbook.yaml'),
    `apiVersion: opsbook/v1\nkind: Config\n${config}`,
  );
  for (const r of runbooks)
    await cp(path.join(repoRoot, 'runbooks', r), path.join(dir, 'runbooks', r), {
      recursive: true,
    });
  return dir;
}

/**
 * Two copies of a repository holding the shipped `runbooks`: `files`, whose history is in its
 * state dir, and `team`, whose opsbook.yaml names a fresh PostgreSQL database `db`; `runs` are
 * journaled into both. `local` is the files store, for a test that adds to it.
 */
export async function historySites(options: {
  root: string;
  pg: Postgres;
  db: string;
  runbooks: readonly string[];
  runs: readonly JournaledRun[];
}): Promise<{ files: string; team: string; local: StateStore }> {
  const { root, pg, db } = options;
  await pg.psql(`create database ${db}`);
  const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${db}`;
  await migrateStateStore(url);
  const site = (name: string, config: string) =>
    workingCopy(path.join(root, name), options.runbooks, config);
  const files = await site('files', '');
  const local = filesStore(path.join(files, '.opsbook'));
  for (const run of options.runs) await journalRun(local, run);
  const team = await site(
    'team',
    `state:\n  kind: postgres\n  url: postgres://${pg.user}@${pg.host}:${pg.port}/${db}\n`,
  );
  const shared = postgresStore({ url });
  for (const run of options.runs) await journalRun(shared, run);
  await shared.close();
  return { files, team, local };
}
