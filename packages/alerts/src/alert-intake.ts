import { GroupCommit } from '@opsbook/state';
import { type AlertRecord, alertKey, firingKey } from './alert.js';
import type { AlertStore } from './alert-store.js';

export interface IntakeResult {
  /** Alerts stored by this call. */
  accepted: number;
  /** Alerts already stored (a retry, or a repeat while firing). */
  duplicates: number;
}

export interface AlertIntakeOptions {
  /** How many recent alert keys to remember for dedupe (default 200,000). */
  maxKeys?: number;
}

/**
 * The way into an alert store for many concurrent deliveries: alerts of calls made while a batch
 * is being made durable go out together in the next batch (group commit: one write and fsync,
 * or one transaction, per batch), and an alert already stored, or on its way, is not stored
 * again. A call resolves once every alert it carried is durable, its own or a retry's that came
 * first; a failed batch rejects the calls it carried, and the next batch tries again.
 */
export class AlertIntake {
  private commit: GroupCommit<readonly AlertRecord[], boolean[]>;
  /** Keys stored or being stored, each with the promise of its durability, oldest first. */
  private readonly known = new Map<string, Promise<unknown>>();
  /** The latest delivery stored, or being stored, of each alert (firingKey), oldest first. */
  private readonly latest = new Map<string, Delivery>();
  private readonly maxKeys: number;

  constructor(
    private readonly store: AlertStore,
    options: AlertIntakeOptions = {},
  ) {
    this.maxKeys = options.maxKeys ?? 200_000;
    this.commit = this.newCommit();
  }

  private newCommit() {
    return new GroupCommit<readonly AlertRecord[], boolean[]>(
      this.store.location,
      async (calls) => {
        const stored = await this.store.append(calls.flat());
        let at = 0;
        return calls.map((c) => {
          at += c.length;
          return stored.slice(at - c.length, at);
        });
      },
    );
  }

  /** Remembers the alerts the store received since `since`, so that their retries are skipped. */
  async warm(since: Date): Promise<number> {
    const keys = await this.store.recentKeys(since);
    const done = Promise.resolve();
    for (const key of keys) {
      this.known.set(key, done);
      const [fingerprint = '', startsAt = '', status, round] = key.split('|');
      const delivery: Delivery = {
        status: status === 'resolved' ? 'resolved' : 'firing',
        round: Number(round ?? 0),
      };
      const id = firingKey({ fingerprint, startsAt });
      const earlier = this.latest.get(id);
      if (!earlier || orderOf(delivery) > orderOf(earlier)) this.latest.set(id, delivery);
    }
    this.forgetOldest();
    return keys.length;
  }

  /**
   * The record as its delivery is stored: a firing after the resolution the intake holds last of
   * its fingerprint and startsAt is the next round (Alertmanager fires it again with the startsAt
   * it resolved with); the same status as that last delivery is its round again, a repeat.
   */
  private inRound(r: AlertRecord): { record: AlertRecord; undo: () => void } {
    const id = firingKey(r);
    const last = this.latest.get(id);
    const round =
      last === undefined
        ? 0
        : last.status === 'resolved' && r.status === 'firing'
          ? last.round + 1
          : last.round;
    const delivery: Delivery = { status: r.status, round };
    if (!last || orderOf(delivery) > orderOf(last)) {
      this.latest.delete(id);
      this.latest.set(id, delivery);
    }
    const undo = () => {
      if (this.latest.get(id) !== delivery) return;
      this.latest.delete(id);
      if (last) this.latest.set(id, last);
    };
    return { record: round ? { ...r, round } : r, undo };
  }

  /** Stores `records` durably, each once; resolves when all of them are durable. */
  async accept(records: readonly AlertRecord[]): Promise<IntakeResult> {
    const fresh: AlertRecord[] = [];
    const undos: Array<() => void> = [];
    const waits: Promise<unknown>[] = [];
    for (const given of records) {
      const { record: r, undo } = this.inRound(given);
      const key = alertKey(r);
      const earlier = this.known.get(key);
      if (earlier) waits.push(earlier);
      else {
        fresh.push(r);
        undos.push(undo);
        this.known.set(key, Promise.resolve()); // replaced below, once the batch is queued
      }
    }
    let stored: boolean[] = [];
    if (fresh.length) {
      if (this.commit.hasFailed) this.commit = this.newCommit();
      const writing = this.commit.push(fresh);
      const settled = writing.catch(() => undefined);
      for (const r of fresh) this.known.set(alertKey(r), writing);
      writing.catch(() => {
        // Not stored: a retry of these alerts must write them, in the round they had.
        for (const undo of undos.reverse()) undo();
        for (const r of fresh) {
          const key = alertKey(r);
          if (this.known.get(key) === writing) this.known.delete(key);
        }
      });
      this.forgetOldest();
      waits.push(settled);
      stored = await writing;
    }
    await Promise.all(waits.map((w) => w.then(() => undefined)));
    const accepted = stored.filter(Boolean).length;
    return { accepted, duplicates: records.length - accepted };
  }

  private forgetOldest(): void {
    let extra = this.latest.size - this.maxKeys;
    for (const id of this.latest.keys()) {
      if (extra-- <= 0) break;
      this.latest.delete(id);
    }
    let excess = this.known.size - this.maxKeys;
    if (excess <= 0) return;
    for (const key of this.known.keys()) {
      if (excess-- <= 0) break;
      this.known.delete(key);
    }
  }
}

/** A delivery of an alert: its status, and how many times it resolved before (AlertRecord.round). */
interface Delivery {
  status: AlertRecord['status'];
  round: number;
}

/** Deliveries of one alert in the order they come: each round fires, then resolves. */
function orderOf(d: Delivery): number {
  return d.round * 2 + (d.status === 'resolved' ? 1 : 0);
}
