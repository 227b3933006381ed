import { isOpsbookError } from '@opsbook/schema';
import { runnerErrors } from '../error-codes.js';
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
