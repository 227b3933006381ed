import { unreadableReason } from '@opsbook/schema';
import { isErrno, type RunSummary, type StateStore } from '@opsbook/state';

/**
 * A backup as the team's run history records it: the `backup.files` / `backup.postgres` step
 * that made it, in the run that ran that step, and the `backup.copy` steps of later (or the same)
 * runs that copied it off the runner and checked the copy. Read from verified journals only, so
 * it lists what the runners did, wherever each one keeps its repository.
 */
export interface BackupRecord {
  backupId: string;
  kind: 'files' | 'postgres';
  host: string;
  /** When the step that made it ended. */
  at: string;
  /** Bytes over all its archives. */
  size: number;
  runId: string;
  runbook?: string;
  ticket?: string;
  /** Who ran it (approvers.yaml id of the executor key): whose repository holds it. */
  executor?: string;
  /**
   * Off-host destinations (`host:folder`) whose copy matched its manifest the last time a
   * `backup.copy` step made or re-checked it (a copy found damaged or missing later is dropped).
   */
  copies: string[];
}

export interface BackupHistory {
  backups: BackupRecord[];
  /** Runs whose journal does not verify: their backups are not listed. */
  problems: Array<{ runId: string; message: string }>;
}

/** How a journal line names a backup action (`"uses":"backup.files"`, …). */
const BACKUP_USES = '"uses":"backup.';

const MADE_BY: Record<string, BackupRecord['kind']> = {
  'backup.files': 'files',
  'backup.postgres': 'postgres',
};

/**
 * The backups made by `runs` (oldest first), each with the off-host copies any of `runs` made
 * of it. Reads each run's journal, verified against what the store pinned at its end.
 */
export async function backupHistory(
  store: Pick<StateStore, 'readRun' | 'readJournal'>,
  runs: readonly RunSummary[],
): Promise<BackupHistory> {
  const backups = new Map<string, BackupRecord>();
  const checks: CopyCheck[] = [];
  const problems: BackupHistory['problems'] = [];
  const ordered = [...runs].sort((a, b) => a.runId.localeCompare(b.runId));
  for (const run of ordered) {
    // Only a journal that names a backup action is verified and parsed: a month of a large
    // fleet's inspections is hundreds of MB that a text search passes over in a fraction of
    // the time (issue #16 measurements in BENCHMARKS.md). A journal edited to hide its backups
    // hides them from this list only; `opsbook journal verify` still finds the edit.
    let bytes: Buffer | undefined;
    try {
      bytes = await store.readJournal(run.runId);
    } catch (e) {
      // A folder where the journal was, a link loop: named as a journal that does not verify.
      if (!isErrno(e)) throw e;
      problems.push({
        runId: run.runId,
        message: `journal cannot be read (${unreadableReason(e)}): its backups are not listed`,
      });
      continue;
    }
    if (!bytes?.includes(BACKUP_USES)) continue;
    const { verification } = await store.readRun(run.runId, { exact: true });
    if (!verification.ok) {
      problems.push({
        runId: run.runId,
        message: `journal does not verify (${verification.problems[0]?.message ?? 'see opsbook journal verify'}): its backups are not listed`,
      });
      continue;
    }
    let executor: string | undefined;
    for (const e of verification.events) {
      if (e.type === 'run-start' && typeof e.executor === 'string') executor = e.executor;
      if (e.type !== 'step-end' || typeof e.uses !== 'string') continue;
      const data = resultData(e.result);
      const kind = MADE_BY[e.uses];
      if (kind && e.status === 'ok' && typeof data?.backupId === 'string') {
        backups.set(data.backupId, {
          backupId: data.backupId,
          kind,
          host: String(e.host),
          at: String(e.at),
          size: sizeOf(data.archives),
          runId: run.runId,
          ...(run.runbook ? { runbook: run.runbook } : {}),
          ...(run.ticket ? { ticket: run.ticket } : {}),
          ...(executor ? { executor } : {}),
          copies: [],
        });
      }
      // A copy step that failed for one backup still vouches for the others it checked.
      if (e.uses === 'backup.copy' && data) checks.push(...checksIn(data));
    }
  }
  // In the order they were made: the last check of a copy says whether it is still good.
  for (const { backupId, destination, ok } of checks) {
    const b = backups.get(backupId);
    if (!b) continue;
    b.copies = b.copies.filter((d) => d !== destination);
    if (ok) b.copies.push(destination);
  }
  return {
    backups: [...backups.values()].sort((a, b) => a.at.localeCompare(b.at)),
    problems,
  };
}

/** A `uses:` step's result as the journal keeps it: the action's data object. */
function resultData(result: unknown): Record<string, unknown> | undefined {
  return result !== null && typeof result === 'object' && !Array.isArray(result)
    ? (result as Record<string, unknown>)
    : undefined;
}

function sizeOf(archives: unknown): number {
  if (!Array.isArray(archives)) return 0;
  return archives.reduce((n: number, a) => n + (Number((a as { size?: unknown })?.size) || 0), 0);
}

interface CopyCheck {
  backupId: string;
  destination: string;
  ok: boolean;
}

/** What an off-host copy report says of each backup's copy on its destination. */
function checksIn(report: Record<string, unknown>): CopyCheck[] {
  const { destination, checks } = report;
  if (typeof destination !== 'string' || !Array.isArray(checks)) return [];
  return checks.flatMap((c) => {
    const check = c as { backupId?: unknown; ok?: unknown; action?: unknown };
    return typeof check?.backupId === 'string'
      ? [
          {
            backupId: check.backupId,
            destination,
            ok: check.ok === true && check.action !== 'missing',
          },
        ]
      : [];
  });
}
