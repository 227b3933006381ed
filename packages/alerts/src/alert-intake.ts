import { GroupCommit } from '@opsbook/state';
import type { AlertRecord } from './alert.js';
import type { AlertStore } from './alert-store.js';

export interface IntakeResult {
  /** Alerts stored by this call. */
  accepted: number;
  /** Alerts already stored (a retry, or a repeat while firing). */
  duplicates: number;
}

/**
 * The way into an alert store for many concurrent deliveries: alerts of calls made while a batch
 * is being made durable go out together in the next batch (group commit: one write and fsync,
 * or one transaction, per batch). The store decides, from what it holds, which round each alert
 * is in and whether it holds it already (alert-round.ts): with several receivers on one
 * PostgreSQL store, a receiver's memory would miss what the others stored. A call resolves once
 * every alert it carried is durable; a failed batch rejects the calls it carried, and the next
 * batch tries again.
 */
export class AlertIntake {
  private commit: GroupCommit<readonly AlertRecord[], boolean[]>;

  constructor(private readonly store: AlertStore) {
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

  /**
   * Has the files store read back what it received since `since`: it remembers the rounds of
   * those alerts, and syncs what a killed process wrote unsynced. Returns how many alerts that
   * was; 0 for PostgreSQL, which reads what it holds of each batch's alerts as it stores them.
   */
  async warm(since: Date): Promise<number> {
    if (this.store.kind !== 'files') return 0;
    return (await this.store.recentKeys(since)).length;
  }

  /** Stores `records` durably, each once; resolves when all of them are durable. */
  async accept(records: readonly AlertRecord[]): Promise<IntakeResult> {
    if (records.length === 0) return { accepted: 0, duplicates: 0 };
    if (this.commit.hasFailed) this.commit = this.newCommit();
    const stored = await this.commit.push(records);
    const accepted = stored.filter(Boolean).length;
    return { accepted, duplicates: records.length - accepted };
  }
}
