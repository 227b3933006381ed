import { isOpsbookError } from '@opsbook/schema';
import type { OutboxWrite } from '@opsbook/tracker';
import type { TicketReport } from './run-ticket.js';
import type { TicketServices } from './ticket-tracker.js';

export interface QueuedWrite {
  write: OutboxWrite;
  bytes?: Uint8Array;
}

/** The assignment to `account`, or none when the person has no account in this tracker. */
export function assignTo(account: string | undefined): QueuedWrite[] {
  return account ? [{ write: { kind: 'assign', assignee: account } }] : [];
}

/**
 * Queue every write on disk first (together: one wait for the disk), then deliver the ticket's
 * queue once, in order. A tracker that does not answer leaves them in the outbox (`opsbook outbox
 * flush` sends them later, exactly once); the caller reports what is pending instead of failing.
 */
export async function deliverWrites(
  services: TicketServices,
  key: string,
  writes: readonly QueuedWrite[],
): Promise<TicketReport> {
  const { outbox } = services;
  const ids = new Set((await outbox.enqueueAll(key, writes)).map((e) => e.id));
  try {
    const report = await outbox.flush({ ticket: key });
    const warnings = report.delivered.flatMap((d) => (d.warning ? [d.warning] : []));
    return {
      ticket: key,
      delivered: report.delivered.filter((d) => ids.has(d.entry.id)).length,
      pending: report.pending,
      failed: report.failed,
      ...(warnings.length ? { warnings } : {}),
    };
  } catch (e) {
    if (isOpsbookError(e) && e.kind === 'interrupted') throw e;
    const left = (await outbox.list()).filter((x) => x.ticket === key);
    return { ticket: key, delivered: 0, pending: left, failed: [], error: (e as Error).message };
  }
}
