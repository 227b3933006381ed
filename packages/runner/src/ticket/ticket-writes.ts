import { isOpsbookError, refusalText } from '@opsbook/schema';
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
  options: PendingOptions = {},
): Promise<TicketReport> {
  return (await queueWrites(services, key, writes, options)).deliver();
}

export interface PendingOptions {
  /**
   * A damaged outbox entry is reported (`blockedBy`, with the writes it keeps waiting) instead of
   * thrown: for a run's end, whose work is done and must be reported whatever the outbox holds.
   * Without it, the damaged entry's error stops the command (exit 2), naming the file.
   */
  aroundDamage?: boolean;
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
  options: PendingOptions = {},
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
        return pendingReport(services, key, e, options);
      }
    },
  };
}

/** What waits in the outbox for `key` after a delivery failed with `error`. */
export async function pendingReport(
  services: TicketServices,
  key: string,
  error: unknown,
  options: PendingOptions = {},
): Promise<TicketReport> {
  // Read around a damaged entry: it is what keeps the ticket's writes waiting, and they are named.
  const { entries, damaged } = options.aroundDamage
    ? await services.outbox.contents()
    : { entries: await services.outbox.list(), damaged: [] };
  const left = entries.filter((x) => x.ticket === key);
  return {
    ticket: key,
    delivered: 0,
    pending: left,
    failed: [],
    error: refusalText(error),
    ...(damaged.length ? { blockedBy: damaged } : {}),
  };
}
