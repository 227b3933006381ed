import type { StateStore } from '@opsbook/state';
import { runnerErrors } from '../error-codes.js';
import type { Plan } from '../plan/plan.js';

/** What a `--retry-failed` run takes over from the run it retries. */
export interface Retry {
  /** The full id of the run retried. */
  retryOf: string;
  /** The approved plan cut down to the hosts that did not end ok in that run. */
  plan: Plan;
}

/**
 * `opsbook run --retry-failed RUN_ID`: the approved plan, cut down to the hosts that did not end
 * ok in RUN_ID (failed, unreachable, cancelled, not started). RUN_ID must be a run of this very
 * approval whose journal verifies against the store and has ended: the hosts come from what
 * the runner recorded, never from the command line. The retry is a run like any other: it
 * claims one of the approval's runs (unless it too reaches no host), and its hosts are approved
 * hosts, so nothing here widens what the senior signed.
 */
export async function retryPlanOf(
  store: StateStore,
  plan: Plan,
  approvalId: string,
  retryOf: string,
): Promise<Retry> {
  const view = await store.readRun(retryOf);
  const { runId } = view;
  const refuse = (why: string) =>
    new runnerErrors.RefusalError('RETRY_REFUSED', `cannot retry run ${runId}: ${why}`, { runId });
  const { verification } = view;
  if (!verification.ok)
    throw refuse(
      `its journal does not verify (${verification.problems.map((p) => p.message).join('; ')}); nothing was run: investigate with opsbook journal verify ${runId}`,
    );
  const start = verification.events[0];
  const approval = start?.approval as { id?: unknown } | undefined;
  if (start?.type !== 'run-start' || approval?.id !== approvalId)
    throw refuse(
      `it is a run of approval ${String(approval?.id ?? '?')}, not of this one (${approvalId}); nothing was run: retry a run of the approval you give`,
    );
  const end = verification.events.at(-1);
  if (verification.status !== 'complete' || end?.type !== 'run-end')
    throw refuse(
      'it has not ended (it is still running, or was killed before its run-end, so the state of its hosts is unknown); nothing was run: ask a senior for a new approval',
    );
  const outcomes = (end.hosts ?? {}) as Record<string, unknown>;
  const hosts = (Array.isArray(start.hosts) ? (start.hosts as string[]) : []).filter(
    (h) => outcomes[h] !== 'ok',
  );
  if (hosts.length === 0)
    throw new runnerErrors.ValidationError(
      [
        {
          file: '--retry-failed',
          line: 0,
          col: 0,
          rule: 'nothing-to-retry',
          message: `every host of run ${runId} ended ok: there is nothing to retry`,
        },
      ],
      'NOTHING_TO_RETRY',
    );
  const approved = new Set(plan.hosts.map((h) => h.name));
  const outside = hosts.filter((h) => !approved.has(h));
  if (outside.length > 0)
    throw refuse(
      `its hosts ${outside.join(', ')} are not in the approved plan as this checkout renders it; nothing was run`,
    );
  const retried = new Set(hosts);
  return {
    retryOf: runId,
    plan: { ...plan, hosts: plan.hosts.filter((h) => retried.has(h.name)) },
  };
}

/**
 * The approval's runs a retry of `runId` could still claim, counting `runId` as used (it is
 * called once a step of it started): those of the other runs the store counts come off too.
 */
export async function runsLeftForRetry(
  store: StateStore,
  approval: { id: string; maxRuns: number },
  runId: string,
): Promise<number> {
  const runs = await store.approvalRuns(approval.id);
  const others = runs.filter((r) => r.used && r.runId !== runId).length;
  return Math.max(0, approval.maxRuns - others - 1);
}

/**
 * What to do about the hosts of `runId` that did not end ok: retry them while the approval has
 * runs left, else a retry would meet RUNS_EXHAUSTED and only a new approval helps.
 */
export function retryAdvice(runId: string, maxRuns: number, runsLeft: number): string {
  return runsLeft > 0
    ? `retry it with --retry-failed ${runId} (${runsLeft} run(s) of the approval left)`
    : `this run used the last of its approval's ${maxRuns} run(s), so --retry-failed would be refused (RUNS_EXHAUSTED): ask a senior for a new approval of the hosts that did not end ok`;
}
