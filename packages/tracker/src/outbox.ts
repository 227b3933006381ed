import { randomUUID } from 'node:crypto';
import { readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import {
  createFilesAtomic,
  type ErrorKind,
  InterruptedError,
  isOpsbookError,
  storageErrorOf,
  UnreachableError,
  writeFileAtomic,
} from '@opsbook/schema';
import { type Doc, hasText } from './document.js';
import { emptyComment, type TrackerErrorCode, trackerErrors } from './error-codes.js';
import { type CommentVisibility, sameVisibility, visibilityText } from './jira-connection.js';
import { isOutboxEntryId, readOutboxBytes } from './outbox-bytes.js';
import { parseStateJson } from './state-json.js';
import type { Grade, NewTicket, RemoteLink, TicketWrite, Tracker } from './tracker.js';

/** A tracker write, stored as data so it can wait on disk until the tracker answers. */
export type OutboxWrite =
  | { kind: 'create'; ticket: NewTicket }
  | {
      kind: 'comment';
      body: Doc;
      /**
       * Who may read it, as the configuration that queued it restricted opsbook's comments
       * (`tracker.jira.commentVisibility`; null: everyone who can see the ticket). A flush under a
       * configuration that restricts comments otherwise sends it not (absent: queued before
       * opsbook recorded it, sent as the flushing configuration says).
       */
      visibility?: CommentVisibility | null;
    }
  | { kind: 'attach'; filename: string; contentType?: string }
  | { kind: 'transition'; status: string }
  | { kind: 'assign'; assignee: string | null }
  | { kind: 'priority'; grade: Grade; summary?: string }
  | { kind: 'setProperty'; property: string; value: unknown }
  | { kind: 'remoteLink'; link: RemoteLink };

export interface OutboxEntry {
  /** Client-generated delivery id, recorded with the write on the tracker for dedupe. */
  id: string;
  seq: number;
  /** Ticket key, or `outbox:<id>` of a queued create that has no key yet. */
  ticket: string;
  write: OutboxWrite;
  queuedAt: string;
  /**
   * Attempts started so far: for create, comment and attach counted on disk before sending, so a
   * crash mid-send is noticed; for the idempotent writes written with a failed attempt's error.
   */
  attempts: number;
  state: 'pending' | 'failed';
  /** The error the last attempt met; `kind` says what it was (a refusal is not an outage). */
  lastError?: { code: string; message: string; kind?: ErrorKind };
}

export type Delivery = {
  entry: OutboxEntry;
  key: string;
  result: string | undefined;
  /** What the tracker left out of a create (the grade's priority it refused), for the caller to show. */
  warning?: string;
};

export interface FlushReport {
  delivered: Delivery[];
  /** Kept on disk; the tracker was unreachable. */
  pending: OutboxEntry[];
  /** Refused for good (4xx): reported, not retried until `flush({ retryFailed: true })`. */
  failed: OutboxEntry[];
}

/** A queued write that cannot be read (a disk error, a bad edit): it blocks the whole outbox. */
export interface DamagedOutboxEntry {
  file: string;
  /** Why, and what to do: repair it, or move it out of the folder. */
  message: string;
}

/** The outbox as far as it can be read: its readable entries, in order, and the damaged ones. */
export interface OutboxContents {
  entries: OutboxEntry[];
  damaged: DamagedOutboxEntry[];
}

export type SendResult =
  | { delivered: true; key: string; result: string | undefined }
  | { delivered: false; entry: OutboxEntry; error: Error };

export interface OutboxOptions {
  stateDir: string;
  tracker: Tracker;
  now?: () => Date;
  newId?: () => string;
}

/** Tracker state is private to the person who runs: files 0600, folders 0700. */
const STATE_FILE = { mode: 0o600, dirMode: 0o700 } as const;
const PLACEHOLDER = 'outbox:';
const NON_IDEMPOTENT = new Set(['create', 'comment', 'attach']);
const DAMAGED =
  'this queued tracker write is damaged, so the outbox sends nothing until it is dealt with: repair it by hand, or move it out of the outbox folder to drop that one write (the others then go out in order)';

/**
 * The persistent outbox (README: Retries, timeouts and the outbox). Every write is queued on disk
 * first, then sent; entries of one ticket go out in queue order, and each exactly once: create,
 * comment and attach carry the entry id as a delivery id, and an entry that was attempted before is
 * probed with `tracker.findDelivered` before it is sent again. Other writes are idempotent by
 * nature.
 */
export class Outbox {
  private readonly dir: string;
  private readonly tracker: Tracker;
  private readonly now: () => Date;
  private readonly newId: () => string;
  private running: Promise<unknown> = Promise.resolve();

  constructor(options: OutboxOptions) {
    this.dir = path.join(options.stateDir, 'outbox');
    this.tracker = options.tracker;
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId ?? randomUUID;
  }

  /** A comment queued with the restriction it would be posted with now (see OutboxWrite). */
  private withVisibility(write: OutboxWrite): OutboxWrite {
    if (write.kind !== 'comment' || write.visibility !== undefined) return write;
    return { ...write, visibility: this.tracker.commentVisibility ?? null };
  }

  /**
   * A run's output queued for one role must not be posted for others because the outbox is
   * flushed later under another configuration (`outbox flush --config`, `ticket report`): the
   * approval bound the restriction, the queued comment keeps it.
   */
  private refuseOtherVisibility(entry: OutboxEntry): void {
    const { write } = entry;
    if (write.kind !== 'comment' || write.visibility === undefined) return;
    const now = this.tracker.commentVisibility;
    if (sameVisibility(write.visibility ?? undefined, now)) return;
    throw new trackerErrors.RefusalError(
      'OUTBOX_VISIBILITY_MISMATCH',
      `a comment to ${entry.ticket} was queued where opsbook.yaml posts ${visibilityText(write.visibility ?? undefined)}, but this configuration posts ${visibilityText(now)}: it was not sent; flush with the opsbook.yaml it was queued with (tracker.jira.commentVisibility): opsbook outbox flush --retry-failed`,
      { ticket: entry.ticket },
    );
  }

  private entryFile(e: Pick<OutboxEntry, 'seq' | 'id'>): string {
    return path.join(this.dir, `${String(e.seq).padStart(10, '0')}-${e.id}.json`);
  }

  private bytesFile(id: string): string {
    return path.join(this.dir, `${id}.bin`);
  }

  /** Queue a write on disk (attach needs `bytes`). Returns the entry; `outbox:<id>` names a queued create. */
  async enqueue(ticket: string, write: OutboxWrite, bytes?: Uint8Array): Promise<OutboxEntry> {
    return (await this.enqueueAll(ticket, [{ write, ...(bytes ? { bytes } : {}) }]))[0]!;
  }

  /**
   * Queue writes of one ticket on disk, in order, as `enqueue` one after the other would, but
   * with one wait for the disk for all their files (attached bytes first, then the entries)
   * instead of one per write. A crash part-way leaves the first ones queued, never a later one
   * without an earlier one.
   */
  async enqueueAll(
    ticket: string,
    writes: readonly { write: OutboxWrite; bytes?: Uint8Array | undefined }[],
  ): Promise<OutboxEntry[]> {
    if (writes.some((w) => w.write.kind === 'attach' && !w.bytes))
      throw new TypeError('an attach write needs its bytes');
    // Queued, it would be refused for good and hold back every later write to the ticket.
    for (const { write } of writes)
      if (write.kind === 'comment' && !hasText(write.body))
        throw emptyComment(ticket, 'nothing was queued');
    const queuedAt = this.now().toISOString();
    const bases = writes.map(({ write }) => {
      const id = this.newId();
      return {
        id,
        ticket: write.kind === 'create' ? `${PLACEHOLDER}${id}` : ticket,
        write: this.withVisibility(write),
        queuedAt,
        attempts: 0,
        state: 'pending' as const,
      };
    });
    await Promise.all(
      writes.map((w, i) =>
        w.bytes ? writeFileAtomic(this.bytesFile(bases[i]!.id), w.bytes, STATE_FILE) : undefined,
      ),
    );
    const queued: OutboxEntry[] = [];
    for (let tries = 0; tries < 1000 && queued.length < bases.length; tries++) {
      // Another process may take the next numbers meanwhile: the rest get numbers after its.
      const first = (await this.lastSeq()) + 1;
      const batch = bases.slice(queued.length).map((b, i) => ({ ...b, seq: first + i }));
      const created = await createFilesAtomic(
        batch.map((e) => ({ file: this.entryFile(e), data: JSON.stringify(e) })),
        STATE_FILE,
      );
      queued.push(...batch.slice(0, created));
    }
    if (queued.length === bases.length) return queued;
    throw new trackerErrors.UnreachableError(
      'OUTBOX_BUSY',
      `could not queue a write in ${this.dir}: check that no other process is flooding the outbox.`,
    );
  }

  /** Queue the write and try to deliver the ticket's queue now. */
  async send(ticket: string, write: OutboxWrite, bytes?: Uint8Array): Promise<SendResult> {
    const entry = await this.enqueue(ticket, write, bytes);
    const report = await this.flush({ ticket: entry.ticket });
    const done = report.delivered.find((d) => d.entry.id === entry.id);
    if (done) return { delivered: true, key: done.key, result: done.result };
    const left = [...report.pending, ...report.failed].find((e) => e.id === entry.id) ?? entry;
    // The code of the error the entry last met (stored with it), else OUTBOX_QUEUED.
    const error = new UnreachableError(
      left.lastError?.code ?? ('OUTBOX_QUEUED' satisfies TrackerErrorCode<'unreachable'>),
      left.lastError?.message ??
        `the write to ${ticket} waits behind earlier ones in the outbox: run opsbook outbox flush.`,
    );
    return { delivered: false, entry: left, error };
  }

  /** Every queued entry, in order; a damaged one throws (nothing may go out around it). */
  async list(): Promise<OutboxEntry[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const entries: OutboxEntry[] = [];
    for (const name of names.filter((n) => /^\d{10}-.+\.json$/.test(n)).sort()) {
      const file = path.join(this.dir, name);
      entries.push(parseStateJson<OutboxEntry>(file, await readFile(file, 'utf8'), DAMAGED));
    }
    return entries;
  }

  /**
   * What `list` reads, read around damaged entries (named with why): for saying which writes
   * wait behind one, where `list` and every flush stop at it.
   */
  async contents(): Promise<OutboxContents> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const contents: OutboxContents = { entries: [], damaged: [] };
    for (const name of names.filter((n) => /^\d{10}-.+\.json$/.test(n)).sort()) {
      const file = path.join(this.dir, name);
      try {
        contents.entries.push(
          parseStateJson<OutboxEntry>(file, await readFile(file, 'utf8'), DAMAGED),
        );
      } catch (e) {
        contents.damaged.push({ file, message: e instanceof Error ? e.message : String(e) });
      }
    }
    return contents;
  }

  private async lastSeq(): Promise<number> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return Math.max(
      0,
      ...names.filter((n) => /^\d{10}-/.test(n)).map((n) => Number(n.slice(0, 10))),
    );
  }

  /** Forget an entry (after a person dealt with a failed write). */
  async discard(id: string): Promise<void> {
    const entry = (await this.list()).find((e) => e.id === id);
    if (!entry) return;
    await unlink(this.entryFile(entry));
    // An id edited to lead out of the folder names no file of the outbox's to delete.
    if (isOutboxEntryId(id)) await unlink(this.bytesFile(id)).catch(() => undefined);
  }

  /**
   * Forget a write the tracker refused for good (state failed), so that the writes of its ticket
   * queued behind it go out on the next flush: `opsbook outbox drop`. A write still to be
   * delivered is refused (OUTBOX_ENTRY_PENDING): dropping it would lose it.
   */
  async drop(entry: OutboxEntry): Promise<void> {
    if (entry.state !== 'failed')
      throw new trackerErrors.RefusalError(
        'OUTBOX_ENTRY_PENDING',
        `outbox entry ${entry.id} (${entry.write.kind} to ${entry.ticket}) was not refused by the tracker: it is still to be delivered, and opsbook outbox flush delivers it; only a write refused for good is dropped`,
        { id: entry.id, ticket: entry.ticket },
      );
    await this.discard(entry.id);
  }

  /** Deliver queued writes in order. One flush at a time per Outbox; entries of a blocked ticket wait. */
  flush(
    options: { ticket?: string; retryFailed?: boolean; signal?: AbortSignal } = {},
  ): Promise<FlushReport> {
    const run = this.running.catch(() => undefined).then(() => this.flushNow(options));
    this.running = run;
    return run;
  }

  private async flushNow(options: {
    ticket?: string;
    retryFailed?: boolean;
    signal?: AbortSignal | undefined;
  }): Promise<FlushReport> {
    const report: FlushReport = { delivered: [], pending: [], failed: [] };
    const keys = await this.readKeys();
    const blocked = new Set<string>();
    const entries = await this.list();
    // Consecutive writes to one ticket go in one `writeAll` where the tracker has it (the local
    // one); after a refused batch, each is sent alone, as every write is on Jira, and what the
    // tracker said is recorded on the entry that met it.
    let batching = this.tracker.writeAll !== undefined;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const ref = entry.ticket;
      if (options.ticket && ref !== options.ticket && keys[ref] !== options.ticket) continue;
      if (entry.state === 'failed' && !options.retryFailed) {
        report.failed.push(entry);
        blocked.add(ref);
        continue;
      }
      const key = ref.startsWith(PLACEHOLDER) ? keys[ref] : ref;
      if (blocked.has(ref) || (entry.write.kind !== 'create' && !key)) {
        report.pending.push(entry);
        continue;
      }
      if (options.signal?.aborted) throw new InterruptedError();
      const batch = batching ? batchAt(entries, i, options.retryFailed === true) : [];
      if (batch.length > 0) {
        const delivered = await this.deliverAll(batch, key!);
        if (delivered) {
          report.delivered.push(...delivered);
          i += batch.length - 1;
          continue;
        }
        batching = false;
      }
      try {
        const delivery = await this.deliver(entry, key);
        if (entry.write.kind === 'create') await this.saveKey(keys, ref, delivery.key);
        await this.remove(entry);
        report.delivered.push(delivery);
      } catch (caught) {
        if (isOpsbookError(caught) && caught.kind === 'interrupted') throw caught;
        blocked.add(ref);
        // A full or read-only disk under the local tracker passes once space is freed: the
        // write waits like one to a tracker that is down, named as the disk's refusal.
        const storage = isOpsbookError(caught) ? undefined : storageErrorOf(caught);
        const e = storage ?? caught;
        const permanent =
          !storage &&
          (!isOpsbookError(e) || e.details.retryable === false || e.kind !== 'unreachable');
        entry.state = permanent ? 'failed' : 'pending';
        entry.lastError = {
          code: isOpsbookError(e) ? e.code : 'ERROR',
          message: (e as Error).message,
          ...(isOpsbookError(e) ? { kind: e.kind } : {}),
        };
        await writeFileAtomic(this.entryFile(entry), JSON.stringify(entry), STATE_FILE);
        (permanent ? report.failed : report.pending).push(entry);
      }
    }
    return report;
  }

  /**
   * `batch` (writes to ticket `key`, no create) in one `writeAll`, then each entry removed; the
   * tracker applies each write once by its delivery id, so nothing is counted on disk before.
   * Undefined when the tracker refused the batch (then none of it was applied).
   */
  private async deliverAll(
    batch: readonly OutboxEntry[],
    key: string,
  ): Promise<Delivery[] | undefined> {
    let results: (string | undefined)[];
    try {
      const writes = await Promise.all(batch.map((entry) => this.ticketWrite(entry)));
      results = await this.tracker.writeAll!(key, writes);
    } catch {
      return undefined;
    }
    await Promise.all(batch.map((entry) => this.remove(entry)));
    return batch.map((entry, i) => ({ entry, key, result: results[i] }));
  }

  private async ticketWrite(entry: OutboxEntry): Promise<TicketWrite> {
    const { write, id: deliveryId } = entry;
    if (write.kind === 'create') throw new Error('a create is never batched');
    this.refuseOtherVisibility(entry);
    if (write.kind === 'comment') return { kind: 'comment', body: write.body, deliveryId };
    if (write.kind !== 'attach') return { ...write, deliveryId };
    const file = {
      filename: write.filename,
      bytes: await readOutboxBytes(this.dir, entry.id),
      ...(write.contentType ? { contentType: write.contentType } : {}),
    };
    return { kind: 'attach', file, deliveryId };
  }

  private async deliver(entry: OutboxEntry, key: string | undefined): Promise<Delivery> {
    const { write, id: deliveryId } = entry;
    const k = key ?? '';
    this.refuseOtherVisibility(entry);
    // A comment the tracker could not tell delivered or not (TRACKER_DELIVERY_UNCERTAIN) is
    // retried (--retry-failed) by a person who looked on the ticket: it is sent, not looked for
    // again, which would only fail the same way.
    const looked =
      entry.state === 'failed' &&
      entry.lastError?.code ===
        ('TRACKER_DELIVERY_UNCERTAIN' satisfies TrackerErrorCode<'refused'>);
    if (entry.attempts > 0 && NON_IDEMPOTENT.has(write.kind) && !looked) {
      const earlier = await this.probe(entry, k);
      if (earlier !== undefined)
        return { entry, key: write.kind === 'create' ? earlier : k, result: earlier };
    }
    entry.attempts++;
    // A write that must go once is counted on disk before it is sent: if we crash after Jira
    // accepted it, the next flush probes first. The others are idempotent, so a crash mid-send
    // only sends them again; their count is written with the error when an attempt fails (one
    // fsync less per write, on the way to a run's first host and after its last).
    if (NON_IDEMPOTENT.has(write.kind))
      await writeFileAtomic(this.entryFile(entry), JSON.stringify(entry), STATE_FILE);
    const t = this.tracker;
    switch (write.kind) {
      case 'create': {
        const ref = await t.create(write.ticket, { deliveryId });
        const warning = ref.priorityRefused
          ? `${ref.key} was created without a priority: ${ref.priorityRefused}`
          : undefined;
        return { entry, key: ref.key, result: ref.key, ...(warning ? { warning } : {}) };
      }
      case 'comment':
        return { entry, key: k, result: (await t.comment(k, write.body, { deliveryId })).id };
      case 'attach': {
        const bytes = await readOutboxBytes(this.dir, entry.id);
        const file = {
          filename: write.filename,
          bytes,
          ...(write.contentType ? { contentType: write.contentType } : {}),
        };
        return { entry, key: k, result: (await t.attach(k, file, { deliveryId })).id };
      }
      case 'transition':
        await t.transition(k, write.status);
        break;
      case 'assign':
        await t.assign(k, write.assignee);
        break;
      case 'priority':
        await t.setPriority(k, write.grade, write.summary ? { summary: write.summary } : {});
        break;
      case 'setProperty':
        await t.setProperty(k, write.property, write.value);
        break;
      case 'remoteLink':
        await t.addRemoteLink(k, write.link);
        break;
    }
    return { entry, key: k, result: undefined };
  }

  private async probe(entry: OutboxEntry, key: string): Promise<string | undefined> {
    const { write, id: deliveryId } = entry;
    if (write.kind === 'create')
      return this.tracker.findDelivered({
        kind: 'create',
        deliveryId,
        summary: write.ticket.summary,
        since: entry.queuedAt,
      });
    if (write.kind === 'comment')
      return this.tracker.findDelivered({
        kind: 'comment',
        deliveryId,
        key,
        since: entry.queuedAt,
      });
    if (write.kind !== 'attach') return undefined;
    const size = (await readOutboxBytes(this.dir, entry.id)).byteLength;
    return this.tracker.findDelivered({
      kind: 'attach',
      deliveryId,
      key,
      filename: write.filename,
      size,
    });
  }

  private async remove(entry: OutboxEntry): Promise<void> {
    await unlink(this.entryFile(entry));
    if (entry.write.kind === 'attach' && isOutboxEntryId(entry.id))
      await unlink(this.bytesFile(entry.id)).catch(() => undefined);
  }

  private async readKeys(): Promise<Record<string, string>> {
    const file = path.join(this.dir, 'keys.json');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw e;
    }
    // Damaged, it is refused rather than read as empty: the next delivered create would
    // overwrite it, and the keys of tickets created from the outbox would be lost.
    return parseStateJson<Record<string, string>>(
      file,
      text,
      'it maps queued creates to their ticket keys: repair it by hand (an object of "outbox:<id>": "KEY"); opsbook leaves it as it is',
    );
  }

  private async saveKey(keys: Record<string, string>, ref: string, key: string): Promise<void> {
    keys[ref] = key;
    await writeFileAtomic(path.join(this.dir, 'keys.json'), JSON.stringify(keys), STATE_FILE);
  }

  /** The ticket key a queued create got, once delivered. */
  async resolve(ref: string): Promise<string | undefined> {
    return ref.startsWith(PLACEHOLDER) ? (await this.readKeys())[ref] : ref;
  }
}

/**
 * The entries from `entries[i]` on that can go in one batch: the same ticket, one after another,
 * none a create (its key comes from its answer), none failed unless failed ones are retried.
 */
function batchAt(entries: readonly OutboxEntry[], i: number, retryFailed: boolean): OutboxEntry[] {
  const batch: OutboxEntry[] = [];
  for (let j = i; j < entries.length; j++) {
    const e = entries[j]!;
    if (e.ticket !== entries[i]!.ticket || e.write.kind === 'create') break;
    if (e.state === 'failed' && !retryFailed) break;
    batch.push(e);
  }
  return batch;
}
