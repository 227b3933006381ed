import { GroupCommit } from '@opsbook/state';
import { type AlertRecord, alertKey } from './alert.js';
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
    for (const key of keys) this.known.set(key, done);
    this.forgetOldest();
    return keys.length;
  }

  /** Stores `records` durably, each once; resolves when all of them are durable. */
  async accept(records: readonly AlertRecord[]): Promise<IntakeResult> {
    const fresh: AlertRecord[] = [];
    const waits: Promise<unknown>[] = [];
    for (const r of records) {
      const key = alertKey(r);
      const earlier = this.known.get(key);
      if (earlier) waits.push(earlier);
      else {
        fresh.push(r);
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
        // Not stored: a retry of these alerts must write them.
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
    let excess = this.known.size - this.maxKeys;
    if (excess <= 0) return;
    for (const key of this.known.keys()) {
      if (excess-- <= 0) break;
      this.known.delete(key);
    }
  }
}
