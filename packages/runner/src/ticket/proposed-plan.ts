import type { ApprovalStatement } from '@opsbook/approval';
import type { Config } from '@opsbook/schema';
import { LocalTracker, type Tracker } from '@opsbook/tracker';
import type { Plan } from '../plan/plan.js';

/**
 * The plan file `ticket propose` attached, on the embedded tracker (read from the state dir, no
 * request): it lets a PLAN_MISMATCH say which host or step differs. Only an explanation.
 */
export async function proposedPlanOf(
  tracker: Tracker,
  key: string,
  approvalId: string,
): Promise<Plan | undefined> {
  if (!(tracker instanceof LocalTracker)) return undefined;
  const name = `${key}.${approvalId}.plan.json`;
  try {
    const file = (await tracker.read(key)).attachments.findLast((a) => a.filename === name);
    if (!file) return undefined;
    const plan = JSON.parse(
      new TextDecoder().decode(await tracker.readAttachment(key, file.id)),
    ) as Plan;
    return Array.isArray(plan?.hosts) ? plan : undefined;
  } catch {
    return undefined; // unreadable: the refusal names what the statement shows instead
  }
}

/**
 * The proposed plan of an approval planned on this machine's embedded tracker, for a run's
 * PLAN_MISMATCH to say what differs (the run has only the approval, which binds the plan's
 * digest). Nothing with Jira: an explanation is not worth a request before a refusal.
 */
export async function proposedPlanHere(
  config: Config,
  statement: ApprovalStatement,
): Promise<Plan | undefined> {
  if (statement.tracker?.kind !== 'local' || config.raw.tracker?.kind === 'jira') return undefined;
  const tracker = new LocalTracker({
    stateDir: config.stateDir,
    actor: 'opsbook',
    ...(config.raw.tracker?.jira?.project ? { project: config.raw.tracker.jira.project } : {}),
  });
  return proposedPlanOf(tracker, statement.ticket, statement.id);
}
