import * as crypto from 'node:crypto';
import { type FileHandle, open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  canonicalJson,
  makeDirectory,
  StorageError,
  syncDirectory,
  ValidationError,
} from '@opsbook/schema';
import { GroupCommit } from './group-commit.js';
import { markRunner, unmarkRunner } from './run-liveness.js';

/** Hides secrets in a string (the runner's secret masker); applied before hashing and writing. */
export type Masker = (text: string) => string;

/** What the runner records: a `type` from its vocabulary plus any JSON fields. */
export interface JournalEvent {
  type: string;
  [field: string]: unknown;
}

/** One line of a journal file as written: the event plus its place in the hash chain. */
export interface JournalLine extends JournalEvent {
  seq: number;
  at: string;
  prev: string;
  hash: string;
}

export interface JournalOptions {
  /**
   * Applied to every string of every event before it is hashed and written; none when the run
   * has no secret (the events are then taken as they are, not copied to be masked).
   */
  mask?: Masker;
  clock?: () => Date;
}

/** The `prev` of the first event: there is nothing before it. */
export const GENESIS_HASH = `sha256:${'0'.repeat(64)}`;
export const RUNS_DIR = 'runs';
const RESERVED_FIELDS = ['seq', 'at', 'prev', 'hash'];
// Run ids become file names: no separators, no leading dot, so `../x` can never escape runs/.
const SAFE_RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

// The bytes an event's hash is computed over: one canonical JSON for all of opsbook.
export { canonicalJson };

/**
 * SHA-256 of a string, hex. Node's one-shot `crypto.hash` (20.12+) where there is one: every
 * event of every run is hashed when written and again when verified, and a Hash object per
 * event costs twice as much (more while the code is cold).
 */
const sha256Hex: (text: string) => string =
  // crypto.hash is absent before Node 20.12 (engines: >=20.11).
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text).digest('hex');

/** `sha256:<hex>` over the canonical JSON of a line without its `hash` field. */
export function hashOfLine(line: Record<string, unknown>): string {
  const { hash: _ignored, ...rest } = line;
  return `sha256:${sha256Hex(canonicalJson(rest))}`;
}

export function journalPath(stateDir: string, runId: string): string {
  return path.join(stateDir, RUNS_DIR, `${runId}.jsonl`);
}

/**
 * `e` naming `file` when the error does not (a read of a folder fails with EISDIR and no path):
 * then the message says which file of the state dir is in the way.
 */
export function errorWithPath(e: unknown, file: string): unknown {
  if (e instanceof Error && (e as NodeJS.ErrnoException).path === undefined)
    (e as NodeJS.ErrnoException).path = file;
  return e;
}

/**
 * Whether `e` is the filesystem's answer about a file (EISDIR, ELOOP, EACCES…), not a database's
 * or a fault of opsbook: a journal that cannot be read, which views name and leave out.
 */
export function isErrno(e: unknown): e is NodeJS.ErrnoException {
  return (
    e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && 'errno' in e
  );
}

/** A run's journal file's bytes, or undefined when it has none. */
export async function readJournalFile(
  stateDir: string,
  runId: string,
): Promise<Buffer | undefined> {
  try {
    return await readFile(journalPath(stateDir, runId));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw errorWithPath(e, journalPath(stateDir, runId));
  }
}

/** Applies `mask` to every string, key and value, at any depth; other values pass through. */
export function maskFields<T>(value: T, mask: Masker): T {
  if (typeof value === 'string') return mask(value) as T;
  if (Array.isArray(value)) return value.map((v) => maskFields(v, mask)) as T;
  if (value !== null && typeof value === 'object') {
    // fromEntries defines own properties, so a `__proto__` key stays data.
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [mask(k), maskFields(v, mask)]),
    ) as T;
  }
  return value;
}

/**
 * The journal of one run: an append-only JSONL file in which every event carries the hash of
 * the one before, so an edited, dropped or reordered event breaks the chain (README.md of this package).
 * `append` resolves only once the line is fsynced: the runner starts the next step after that,
 * so a crash can lose at most events being written, never one whose step already ran.
 *
 * Group commit: events appended while a write+fsync is in flight wait for it, then go out
 * together in one write and one fsync. With one fsync per event and 2 + 2 × steps events a
 * host, serial fsyncs were a large share of a fan-out run's client time (BENCHMARKS.md).
 * Each event is chained at `append` time, in call order, so the file order is the call order.
 */
/**
 * Where a journal's lines go: a file (the files store) or rows (the PostgreSQL store). `write`
 * makes the given lines durable, in order, and resolves only once they are; a write that fails
 * may have stored some of them, and the journal then takes no more.
 */
export interface JournalSink {
  /** Where the journal is kept, for messages: a file path, or the database and run. */
  readonly location: string;
  write(lines: readonly JournalLine[], texts: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export class Journal {
  /** Where the journal is kept (a file path for the files store). */
  readonly location: string;
  readonly runId: string;
  /** Durable head: the hash of the last durable event. */
  private lastHash = GENESIS_HASH;
  /** Chain tip including events still waiting for their write. */
  private tipHash = GENESIS_HASH;
  private written = 0;
  private appended = 0;
  private hasEnded = false;
  private endAppended = false;
  private readonly commits: GroupCommit<{ line: JournalLine; text: string }, JournalLine>;
  private closed = false;

  private constructor(
    private readonly sink: JournalSink,
    runId: string,
    private readonly mask: Masker | undefined,
    private readonly clock: () => Date,
  ) {
    this.location = sink.location;
    this.runId = runId;
    // One write and one fsync per batch.
    this.commits = new GroupCommit(sink.location, async (batch) => {
      await this.sink.write(
        batch.map((p) => p.line),
        batch.map((p) => p.text),
      );
      for (const { line } of batch) {
        this.written += 1;
        this.lastHash = line.hash;
        if (line.type === 'run-end') this.hasEnded = true;
      }
      return batch.map((p) => p.line);
    });
  }

  /** A journal whose lines go to `sink` (a store's own); the run id must be a safe name. */
  static over(sink: JournalSink, runId: string, options: JournalOptions = {}): Journal {
    checkRunId(sink.location, runId);
    return new Journal(sink, runId, options.mask, options.clock ?? (() => new Date()));
  }

  /** Creates `<stateDir>/runs/<runId>.jsonl`; refuses a run id whose journal already exists. */
  static async create(
    stateDir: string,
    runId: string,
    options: JournalOptions = {},
  ): Promise<Journal> {
    const file = journalPath(stateDir, runId);
    checkRunId(file, runId);
    const dir = path.dirname(file);
    await makeDirectory(stateDir, { mode: 0o700 });
    await makeDirectory(dir, { mode: 0o700 });
    let handle: FileHandle;
    try {
      handle = await open(file, 'ax', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      throw ValidationError.single(
        file,
        `a journal for run ${runId} already exists: a run id is used once, never overwritten`,
        'journal-exists',
      );
    }
    await syncDirectory(dir); // the new file's name must survive a crash too
    // Tells `runs list` the run is still running (run-liveness.ts) until the journal closes.
    const mark = await markRunner(file);
    return Journal.over(fileSink(handle, file, mark), runId, options);
  }

  /** The hash of the last durable event (GENESIS_HASH before the first). */
  get head(): string {
    return this.lastHash;
  }

  /** How many events are durable. */
  get count(): number {
    return this.written;
  }

  get isEnded(): boolean {
    return this.hasEnded;
  }

  /**
   * Appends one event and resolves once it is on disk. Calls made concurrently (one per host)
   * are chained and written in call order; those that arrive during a write share the next one.
   */
  append(event: JournalEvent): Promise<JournalLine> {
    let line: JournalLine;
    try {
      if (this.closed) {
        throw ValidationError.single(this.location, 'the journal is closed', 'closed');
      }
      this.checkWritable(event);
      line = this.chain(event);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.commits.push({ line, text: `${JSON.stringify(line)}\n` });
  }

  /** Waits for pending appends, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.commits.drained();
    await this.sink.close();
  }

  /** Builds the next line of the chain (masked, hashed) and makes it the tip. */
  private chain(event: JournalEvent): JournalLine {
    const line = chainLine(
      event,
      { seq: this.appended + 1, at: this.clock(), prev: this.tipHash },
      this.mask,
    );
    this.appended += 1;
    this.tipHash = line.hash;
    if (event.type === 'run-end') this.endAppended = true;
    return line;
  }

  private checkWritable(event: JournalEvent): void {
    const refuse = (message: string, rule: string) => {
      throw ValidationError.single(this.location, message, rule);
    };
    if (this.commits.hasFailed) throw this.commits.refusal();
    if (this.endAppended) refuse('run-end was written: it must be the last event', 'after-end');
    checkEvent(this.location, event);
  }
}

/** Refuses an event without a `type`, or one that sets a field the journal sets itself. */
export function checkEvent(location: string, event: JournalEvent): void {
  if (typeof event.type !== 'string' || event.type === '') {
    throw ValidationError.single(
      location,
      'a journal event needs a non-empty string `type`',
      'bad-event',
    );
  }
  const reserved = RESERVED_FIELDS.filter((k) => Object.hasOwn(event, k));
  if (reserved.length > 0) {
    throw ValidationError.single(
      location,
      `event fields ${reserved.join(', ')} are set by the journal itself`,
      'bad-event',
    );
  }
}

/**
 * One line of a journal: the event at its place in the chain, every string of its fields masked,
 * hashed. The one line format of every store and writer, so `verifyJournal` reads them all.
 */
export function chainLine(
  event: JournalEvent,
  place: { seq: number; at: Date; prev: string },
  mask?: Masker,
): JournalLine {
  const seq = place.seq;
  const at = place.at.toISOString();
  const prev = place.prev;
  let line: Record<string, unknown>;
  if (mask) {
    const { type, ...fields } = event;
    // `type` is the runner's own vocabulary, never user data; masking it could hide run-end.
    line = { seq, at, prev, type, ...maskFields(fields, mask) };
  } else {
    // Without a masker (no secret to hide) the fields are taken as they are, in one copy of the
    // event: its own `type` keeps the place given to it here, after `prev`, as in a masked line.
    line = { seq, at, prev, type: event.type, ...(event as object) };
  }
  // The line has no `hash` yet: its canonical JSON is what hashOfLine would hash.
  let canonical = canonicalJson(line);
  // PostgreSQL's jsonb (the team journal's queries) refuses \u0000: one NUL in a step's output
  // would stop every query of the run. It is kept as U+FFFD, as undecodable bytes are. Found in
  // the JSON already made for the hash, so a line without one costs nothing more.
  if (canonical.includes('\\u0000')) {
    line = withoutNul(line) as Record<string, unknown>;
    canonical = canonicalJson(line);
  }
  line.hash = `sha256:${sha256Hex(canonical)}`;
  return line as JournalLine;
}

/** `value` with every U+0000 in its strings and keys replaced by U+FFFD. */
function withoutNul(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('\u0000', '\ufffd');
  if (Array.isArray(value)) return value.map(withoutNul);
  if (value && typeof value === 'object' && !(value instanceof Date))
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k.replaceAll('\u0000', '\ufffd'), withoutNul(v)]),
    );
  return value;
}

function checkRunId(where: string, runId: string): void {
  if (!SAFE_RUN_ID.test(runId)) {
    throw ValidationError.single(
      where,
      `run id ${JSON.stringify(runId)} is not a safe file name: use letters, digits, - and _`,
      'bad-run-id',
    );
  }
}

/**
 * The files store's sink: one append and one fsync per batch of lines. Each batch first checks
 * that the file is still the journal's path: one removed or moved with the state dir would take
 * the lines without error, and the run would go on changing hosts with no record anyone finds.
 */
function fileSink(handle: FileHandle, file: string, mark: string | undefined): JournalSink {
  // The open file's identity does not change: read once, then one stat of the path a batch.
  let opened: ReturnType<FileHandle['stat']> | undefined;
  return {
    location: file,
    async write(_lines, texts) {
      opened ??= handle.stat();
      const [open, named] = await Promise.all([opened, stat(file).catch(() => undefined)]);
      if (!named || named.ino !== open.ino || named.dev !== open.dev)
        throw new StorageError(
          'FILE_REMOVED',
          `cannot write the journal ${file}: it was removed or moved while the run wrote it (was the state dir deleted or renamed?), so no further step starts. Keep the state dir in place while opsbook runs.`,
          { path: file },
        );
      await handle.appendFile(texts.join(''), 'utf8');
      await handle.sync();
    },
    async close() {
      await handle.close();
      await unmarkRunner(mark);
    },
  };
}
