import type { OutboxEntry } from '@opsbook/tracker';
import { RUN_PROPERTY_PREFIX } from './run-ticket.js';
import type { TicketServices } from './ticket-tracker.js';

/** Writes to one ticket that wait in this machine's outbox (the tracker has not taken them). */
export interface WaitingWrites {
  writes: number;
  /**
   * Runs whose end is among them (their record with its status): the ticket reads them as not
   * reported, but their report is written already and only waits for delivery.
   */
  runEnds: string[];
}

/** The runs whose end record (`opsbook.run.<runId>` with a status) is among `entries`. */
export function runEndsIn(entries: readonly OutboxEntry[]): string[] {
  const ids = new Set<string>();
  for (const { write } of entries) {
    if (write.kind !== 'setProperty' || !write.property.startsWith(RUN_PROPERTY_PREFIX)) continue;
    const record = write.value as { status?: unknown } | null;
    if (typeof record?.status === 'string')
      ids.add(write.property.slice(RUN_PROPERTY_PREFIX.length));
  }
  return [...ids];
}

/** What this machine's outbox holds for `key`, undefined when nothing waits. */
export async function waitingWrites(
  services: TicketServices,
  key: string,
): Promise<WaitingWrites | undefined> {
  const { outbox } = services;
  const entries: OutboxEntry[] = [];
  for (const e of await outbox.list())
    if (e.ticket === key || (await outbox.resolve(e.ticket)) === key) entries.push(e);
  return entries.length ? { writes: entries.length, runEnds: runEndsIn(entries) } : undefined;
}
