import type { ApprovalStatement } from '@opsbook/approval';
import { isOpsbookError } from '@opsbook/schema';
import { runnerErrors } from '../error-codes.js';
import {
  APPROVAL_PROPERTY,
  approvalNotCurrent,
  doneHint,
  type TicketApproval,
} from './ticket-record.js';
import type { TicketServices } from './ticket-tracker.js';

/** What the tracker said of a ticket before a plan is written or signed. */
export type TicketCheck =
  | { found: true }
  | {
      found: false;
      /** Said before anything is written or signed; run would refuse the approval for good. */
      missing: boolean;
      message: string;
    };

// A tracker that has not answered by then is reported, not waited for: run checks again.
const CHECK_TIMEOUT_MS = 15_000;

/**
 * Asks the tracker whether `key` exists, so that `plan` and `approve` catch what `run` would
 * refuse later (TRACKER_TICKET_NOT_FOUND) before a senior's signature is spent on it. A tracker
 * that does not answer is not a reason to stop planning: run checks the ticket again.
 */
export async function checkTicketExists(
  services: Pick<TicketServices, 'tracker'>,
  key: string,
  signal?: AbortSignal,
): Promise<TicketCheck> {
  try {
    await services.tracker.get(key, { signal: signal ?? AbortSignal.timeout(CHECK_TIMEOUT_MS) });
    return { found: true };
  } catch (e) {
    if (isOpsbookError(e) && e.code === 'TRACKER_TICKET_NOT_FOUND')
      return {
        found: false,
        missing: true,
        message: `${key} does not exist in the ${services.tracker.kind === 'local' ? 'local tracker' : 'tracker'}, and opsbook run refuses an approval whose ticket does not`,
      };
    return {
      found: false,
      missing: false,
      message: `could not check that ${key} exists (${e instanceof Error ? e.message : String(e)}); opsbook run checks it again`,
    };
  }
}

/**
 * `approve`: refuses to sign an approval whose ticket the team's tracker (Jira) says does not
 * exist. A local tracker is this machine's own: a senior signing a file planned on another
 * machine has not got its tickets, so there it is a warning, and run checks on its machine.
 */
export async function refuseMissingTicket(
  services: Pick<TicketServices, 'tracker'>,
  key: string,
  signal?: AbortSignal,
): Promise<TicketCheck> {
  const check = await checkTicketExists(services, key, signal);
  if (check.found || !check.missing) return check;
  if (services.tracker.kind === 'local')
    return {
      ...check,
      message: `${key} is not in this machine's local tracker: if it was planned on another machine, opsbook run checks it there; if not, run will refuse this approval`,
    };
  throw new runnerErrors.RefusalError(
    'TRACKER_TICKET_NOT_FOUND',
    `not signed: ${check.message}; ask for a plan on an existing ticket`,
    { ticket: key },
  );
}

/** Whether `run` would find the approval's ticket at a status it starts from. */
export type TicketReadiness =
  | { ready: true; status: string }
  | {
      ready: false;
      /** The ticket's status, when the tracker answered. */
      status?: string;
      /** The ticket carries another approval, or a senior rejected this one (APPROVAL_NOT_CURRENT). */
      notCurrent?: true;
      message: string;
    };

/** What moves a ticket at `status` to the approved status, on this tracker. */
function readinessHint(
  key: string,
  status: string,
  tracker: Pick<TicketServices['tracker'], 'kind' | 'statuses'>,
): string {
  const names = tracker.statuses;
  const is = (name: string) => name.toLowerCase() === status.toLowerCase();
  if (is(names.done)) return doneHint(key);
  if (is(names.review))
    return `its work was run and handed over; a further run needs a new proposal and approval (a senior rejects the run: opsbook ticket reject ${key} --reason …, which sends ${key} back to "${names.open}"; or a new ticket)`;
  if (is(names.awaitingApproval))
    return `a plan is proposed on it: a senior signs that one there (opsbook ticket approve ${key}) and the engineer runs it (opsbook ticket run ${key}); that approval replaces this file's`;
  if (tracker.kind === 'local')
    return `the local tracker moves a ticket only through the ticket flow: the engineer proposes the plan on it (opsbook ticket propose ${key} --runbook … --senior …), a senior signs it there (opsbook ticket approve ${key}), and the engineer runs it (opsbook ticket run ${key}); that approval replaces this file's`;
  return `a senior moves ${key} to "${names.approved}" in the tracker, or the ticket flow does (opsbook ticket propose ${key}, then a senior's opsbook ticket approve ${key}, whose approval replaces this file's)`;
}

/**
 * `approve`, after signing: reads the approval's ticket as `run` will (the statuses the statement
 * binds), so the senior's next steps say what still has to happen before `run` starts instead of
 * promising that it will. Read only; a tracker that does not answer is reported, not waited for.
 */
export async function checkTicketReady(
  services: Pick<TicketServices, 'tracker'>,
  statement: Pick<ApprovalStatement, 'id' | 'ticket' | 'tracker'>,
  signal?: AbortSignal,
): Promise<TicketReadiness> {
  const key = statement.ticket;
  const { tracker } = services;
  const read = { signal: signal ?? AbortSignal.timeout(CHECK_TIMEOUT_MS) };
  // The approval the ticket carries, asked for with the ticket: run refuses any other.
  const approvalRead = tracker.getProperty(key, APPROVAL_PROPERTY, read);
  approvalRead.catch(() => undefined);
  let status: string;
  try {
    ({ status } = await tracker.get(key, read));
  } catch (e) {
    return {
      ready: false,
      message: `could not read ${key} (${e instanceof Error ? e.message : String(e)}): opsbook verify says whether run can start`,
    };
  }
  const { approved, inProgress } = statement.tracker?.statuses ?? tracker.statuses;
  if (![approved, inProgress].some((s) => s.toLowerCase() === status.toLowerCase()))
    return {
      ready: false,
      status,
      message: `opsbook run refuses this approval while ${key} is "${status}" (it starts only on "${approved}" or "${inProgress}"): ${readinessHint(key, status, tracker)}`,
    };
  let carried: unknown;
  try {
    carried = await approvalRead;
  } catch (e) {
    return {
      ready: false,
      status,
      message: `could not read the approval ${key} carries (${e instanceof Error ? e.message : String(e)}): opsbook verify says whether run can start`,
    };
  }
  const why = approvalNotCurrent(key, statement.id, carried as TicketApproval | undefined);
  if (!why) return { ready: true, status };
  return {
    ready: false,
    status,
    notCurrent: true,
    message: `opsbook run refuses this approval (APPROVAL_NOT_CURRENT): ${why.what}, so this file will not run; ${why.next}`,
  };
}
