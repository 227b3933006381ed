import type { ApprovalStatement } from '@opsbook/approval';
import { phases } from '@opsbook/schema';
import type { Plan, PlannedHost } from '../plan/plan.js';

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Keys whose values differ between two flat records, sorted. */
function changedKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((k) => !same(a[k], b[k]))
    .sort();
}

/** What differs on one host present in both plans: its connection, or the commands of its steps. */
function hostDifference(before: PlannedHost, after: PlannedHost): string | undefined {
  const connection = changedKeys(
    before.connection as Record<string, unknown>,
    after.connection as Record<string, unknown>,
  );
  const steps: string[] = [];
  for (const phase of phases) {
    const a = before.phases[phase];
    const b = after.phases[phase];
    for (let i = 0; i < Math.max(a.length, b.length); i++)
      if (!same(a[i], b[i])) steps.push(`${phase}/${b[i]?.id ?? a[i]?.id ?? i}`);
  }
  if (!same(before.composed, after.composed)) steps.push('composed runbooks');
  const parts = [
    ...(connection.length ? [`its connection differs (${connection.join(', ')})`] : []),
    ...(steps.length
      ? [
          `its commands differ (${steps.slice(0, 5).join(', ')}${steps.length > 5 ? ', …' : ''}): a host var or a script`,
        ]
      : []),
  ];
  return parts.length ? `${after.name}: ${parts.join('; ')}` : undefined;
}

/**
 * What makes the plan re-rendered here differ from the one proposed, as far as it can be told:
 * from the proposed plan when it is at hand (hosts, connections, rendered commands), else from
 * what the statement binds (runbook, params, composed runbooks). Empty: nothing cheap to name.
 */
export function planDifferences(
  statement: ApprovalStatement,
  here: Plan,
  proposed?: Plan,
): string[] {
  const out: string[] = [];
  const runbook = proposed?.runbook ?? statement.runbook;
  if (!same(runbook, here.runbook))
    out.push(
      `runbook ${here.runbook.name}: proposed ${runbook.version} (${runbook.digest}), here ${here.runbook.version} (${here.runbook.digest})`,
    );
  const params = changedKeys(proposed?.params ?? statement.params, here.params);
  if (params.length) out.push(`params ${params.join(', ')}`);
  const composedHere = (here.composed ?? []).map((c) => ({ step: c.step, ...c.runbook }));
  if (
    proposed
      ? !same(proposed.composed, here.composed)
      : !same(statement.composed ?? [], composedHere)
  )
    out.push('the composed runbooks');
  if (!proposed) return out;
  const names = (p: Plan) => p.hosts.map((h) => h.name);
  const removed = names(proposed).filter((n) => !names(here).includes(n));
  const added = names(here).filter((n) => !names(proposed).includes(n));
  if (added.length) out.push(`hosts added here: ${added.join(', ')}`);
  if (removed.length) out.push(`hosts missing here: ${removed.join(', ')}`);
  for (const host of here.hosts) {
    const before = proposed.hosts.find((h) => h.name === host.name);
    const d = before && hostDifference(before, host);
    if (d) out.push(d);
  }
  if (proposed.concurrency !== here.concurrency || proposed.maxFailures !== here.maxFailures)
    out.push('targets (concurrency, maxFailures)');
  return out;
}
