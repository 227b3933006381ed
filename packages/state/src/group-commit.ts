import { ValidationError } from '@opsbook/schema';

interface Waiting<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit, as both journals write: items pushed while a batch is being made durable wait
 * for it, then go out together in the next batch (one write and fsync, or one transaction, per
 * batch, not per item). Batches are written one at a time, in push order. After a batch fails
 * (some of it may be stored), every later item is refused: writing more after a gap would hide it.
 */
export class GroupCommit<T, R> {
  private pending: Waiting<T, R>[] = [];
  private flushing: Promise<void> | undefined;
  private failed = false;

  /**
   * @param location where the items go, for the refusal message
   * @param writeBatch makes `items` durable, in order, and returns each one's result
   */
  constructor(
    private readonly location: string,
    private readonly writeBatch: (items: readonly T[]) => Promise<readonly R[]>,
  ) {}

  /** Whether a batch failed: no item is accepted any more. */
  get hasFailed(): boolean {
    return this.failed;
  }

  /** The refusal of an item pushed after a failed batch. */
  refusal(): ValidationError {
    return ValidationError.single(
      this.location,
      'the journal stopped accepting events after a failed write',
      'journal-failed',
    );
  }

  /** Resolves with the item's result once its batch is durable. */
  push(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /** Waits until everything pushed so far is written (or refused). */
  async drained(): Promise<void> {
    await this.flushing;
  }

  private async flush(): Promise<void> {
    // Yield once first: pushes made in the same tick (one per host) join the first batch, and
    // `flushing` is always set before this function can clear it.
    await null;
    for (let batch = this.pending; batch.length > 0; batch = this.pending) {
      this.pending = [];
      if (this.failed) {
        const refusal = this.refusal();
        for (const w of batch) w.reject(refusal);
        continue;
      }
      let results: readonly R[];
      try {
        results = await this.writeBatch(batch.map((w) => w.item));
      } catch (e) {
        this.failed = true;
        for (const w of batch) w.reject(e);
        continue;
      }
      batch.forEach((w, i) => {
        w.resolve(results[i]!);
      });
    }
    this.flushing = undefined;
  }
}
