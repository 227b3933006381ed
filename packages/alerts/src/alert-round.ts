import { type AlertRecord, firingKey } from './alert.js';

/** What the round of a delivery is worked out from: one stored delivery of an alert. */
export type StoredDelivery = Pick<AlertRecord, 'status' | 'round' | 'endsAt' | 'sender'>;

/**
 * The round a delivery of an alert belongs to, from the deliveries of that alert (fingerprint
 * and startsAt) the store holds, oldest first; the store keeps it unless it holds that status
 * in that round already (a retry, a repeat while firing, a duplicate of an HA pair).
 *
 * - A firing after the resolution of the last round is the next round (Alertmanager fires it
 *   again with the startsAt it resolved with). A late duplicate of the first firing from the
 *   other Alertmanager of an HA pair looks the same (a firing carries no endsAt, nor anything
 *   else that dates it): it is taken as firing again, the safe side, until that Alertmanager's
 *   own resolution ends it (below).
 * - A resolution of a firing round resolves it, unless it carries the endsAt of an earlier
 *   round's resolution (each resolution has its own endsAt: a round resolves after the one
 *   before): then it is that resolution again, late (the other Alertmanager's, or a retry), and
 *   the firing stays. Except when it comes from the Alertmanager that sent the firing round and
 *   neither of them from the one that sent that earlier resolution: that Alertmanager sent its
 *   firing late, and this is its resolution of it. Alertmanagers are told apart by the
 *   externalURL they send (`sender`): an HA pair sharing one keeps the firing.
 */
export function roundOf(
  stored: readonly StoredDelivery[],
  delivery: Pick<AlertRecord, 'status' | 'endsAt' | 'sender'>,
): number {
  if (stored.length === 0) return 0;
  let last = 0;
  for (const d of stored) last = Math.max(last, d.round ?? 0);
  const inLast = stored.filter((d) => (d.round ?? 0) === last);
  const resolution = inLast.find((d) => d.status === 'resolved');
  if (delivery.status === 'firing') return resolution ? last + 1 : last;
  if (resolution || !delivery.endsAt) return last;
  const earlier = stored.find(
    (d) => d.status === 'resolved' && d.endsAt === delivery.endsAt && (d.round ?? 0) < last,
  );
  if (!earlier) return last;
  const firing = inLast.find((d) => d.status === 'firing');
  const isLateFiringsEnd =
    firing !== undefined &&
    delivery.sender !== undefined &&
    firing.sender === delivery.sender &&
    earlier.sender !== delivery.sender;
  return isLateFiringsEnd ? last : (earlier.round ?? 0);
}

/** Whether the store holds a delivery of that status in that round. */
export function isStored(stored: readonly StoredDelivery[], status: string, round: number) {
  return stored.some((d) => d.status === status && (d.round ?? 0) === round);
}

/**
 * The deliveries of each alert a store holds, by firingKey, for `roundOf`: the files store's
 * memory of what it stored (bounded: the oldest alerts are forgotten past `maxAlerts`), or what
 * PostgreSQL holds of one batch's alerts.
 */
export class RoundBook {
  private readonly byAlert = new Map<string, StoredDelivery[]>();

  constructor(private readonly maxAlerts = Number.POSITIVE_INFINITY) {}

  /** Remembers a stored delivery (once: a repeat read back is not added again). */
  add(record: Pick<AlertRecord, 'fingerprint' | 'startsAt'> & StoredDelivery): void {
    const id = firingKey(record);
    const stored = this.byAlert.get(id) ?? [];
    if (stored.length === 0) this.byAlert.set(id, stored);
    const { status, endsAt, sender } = record;
    if (isStored(stored, status, record.round ?? 0)) return;
    stored.push({
      status,
      round: record.round ?? 0,
      ...(endsAt ? { endsAt } : {}),
      ...(sender ? { sender } : {}),
    });
    for (const oldest of this.byAlert.keys()) {
      if (this.byAlert.size <= this.maxAlerts) break;
      this.byAlert.delete(oldest);
    }
  }

  /**
   * `records` in their rounds (`round` set from the second on), each with whether it is new to
   * the store: earlier records of the same call count as stored. The book is not changed.
   */
  place(records: readonly AlertRecord[]): Array<{ record: AlertRecord; isNew: boolean }> {
    const pending = new Map<string, StoredDelivery[]>();
    return records.map((given) => {
      const id = firingKey(given);
      const stored = [...(this.byAlert.get(id) ?? []), ...(pending.get(id) ?? [])];
      const round = roundOf(stored, given);
      const { round: _old, ...rest } = given;
      const record: AlertRecord = round ? { ...rest, round } : rest;
      const isNew = !isStored(stored, record.status, round);
      if (isNew) {
        const list = pending.get(id) ?? [];
        pending.set(id, list);
        const { status, endsAt, sender } = record;
        list.push({ status, round, ...(endsAt ? { endsAt } : {}), ...(sender ? { sender } : {}) });
      }
      return { record, isNew };
    });
  }
}
