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
  return (await queueWrites(services, key, writes)).deliver();
}

/** Writes on disk in the outbox, not yet delivered: `deliver()` sends the ticket's queue. */
export interface QueuedWrites {
  deliver(): Promise<TicketReport>;
}

/**
 * The first half of `deliverWrites`: resolves once the writes are on disk in the outbox, so that
 * nothing is lost whatever happens next; their delivery waits for `deliver()`.
 */
export async function queueWrites(
  services: TicketServices,
  key: string,
  writes: readonly QueuedWrite[],
): Promise<QueuedWrites> {
  const { outbox } = services;
  const ids = new Set((await outbox.enqueueAll(key, writes)).map((e) => e.id));
  return {
    async deliver() {
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
        return pendingReport(services, key, e);
      }
    },
  };
}

/** What waits in the outbox for `key` after a delivery failed with `error`. */
export async function pendingReport(
  services: TicketServices,
  key: string,
  error: unknown,
): Promise<TicketReport> {
  // Read around a damaged entry: it is what keeps the ticket's writes waiting, and they are named.
  const { entries, damaged } = await services.outbox.contents();
  const left = entries.filter((x) => x.ticket === key);
  return {
    ticket: key,
    delivered: 0,
    pending: left.filter((x) => x.state !== 'failed'),
    failed: left.filter((x) => x.state === 'failed'),
    error: error instanceof Error ? error.message : String(error),
    ...(damaged.length ? { blockedBy: damaged } : {}),
  };
}
