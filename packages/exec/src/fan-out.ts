import { isOpsbookError } from '@opsbook/schema';

/**
 * Runs one worker per host with bounded concurrency (`targets.concurrency`). Pure scheduling: what
 * a worker does (connect, run steps) is the caller's; this decides which host starts when, and
 * reports.
 */
export interface FanOutOptions<R> {
  hosts: readonly string[];
  /** At most this many hosts run at once (>= 1). */
  concurrency: number;
  /** Stop starting new hosts once MORE than this many hosts failed. Default: never stop. */
  maxFailures?: number;
  /** Abort = stop starting new hosts; running hosts finish (or time out) and the result says interrupted. */
  signal?: AbortSignal | undefined;
  /**
   * Abort = stop now: every running host's signal is aborted (its command killed), as
   * `cancelHost` does for one, and no host starts. A second Ctrl-C, after `signal`'s first.
   */
  stop?: AbortSignal | undefined;
  /** Classifies a returned value as a failed host (e.g. a step failed). Default: returned = ok. */
  isFailure?: (value: R) => boolean;
  onEvent?: (event: FanOutEvent) => void;
}

export interface HostContext {
  host: string;
  /**
   * Aborted by `cancelHost(host)` or the fan-out's `stop` (not by the run's signal: running hosts
   * are allowed to finish).
   */
  signal: AbortSignal;
  /** Feed command output here; it is split into lines and emitted as `output` events. */
  output(stream: 'stdout' | 'stderr', chunk: string): void;
}

export type HostStatus = 'ok' | 'failed' | 'unreachable' | 'cancelled';

export type FanOutEvent =
  | { type: 'host-start'; host: string }
  | {
      type: 'output';
      host: string;
      stream: 'stdout' | 'stderr';
      line: string;
      /** The line was longer than MAX_LINE_LENGTH: this is its start, the rest was dropped. */
      cut?: true;
    }
  | { type: 'host-end'; host: string; status: HostStatus; error?: unknown };

export interface HostOutcome<R> {
  host: string;
  status: HostStatus;
  value?: R;
  error?: unknown;
}

export interface FanOutResult<R> {
  /** Hosts that ran, in the order they ended. */
  outcomes: HostOutcome<R>[];
  /** Hosts never started (abort or maxFailures). */
  notStarted: string[];
  interrupted: boolean;
  stoppedByFailures: boolean;
  failures: number;
}

export interface FanOut<R> {
  done: Promise<FanOutResult<R>>;
  /** Aborts one running host's signal (or keeps it from starting). */
  cancelHost(host: string): void;
}

export function startFanOut<R>(
  options: FanOutOptions<R>,
  worker: (ctx: HostContext) => Promise<R>,
): FanOut<R> {
  const concurrency = Math.max(1, Math.floor(options.concurrency));
  const maxFailures = options.maxFailures ?? Number.POSITIVE_INFINITY;
  const emit = options.onEvent ?? (() => {});
  const queue = [...options.hosts];
  const controllers = new Map<string, AbortController>();
  const cancelled = new Set<string>();
  const result: FanOutResult<R> = {
    outcomes: [],
    notStarted: [],
    interrupted: false,
    stoppedByFailures: false,
    failures: 0,
  };

  const mayStart = () => {
    if (options.signal?.aborted || options.stop?.aborted) result.interrupted = true;
    if (result.failures > maxFailures) result.stoppedByFailures = true;
    return !result.interrupted && !result.stoppedByFailures;
  };

  const runHost = async (host: string): Promise<void> => {
    const controller = new AbortController();
    controllers.set(host, controller);
    if (cancelled.has(host) || options.stop?.aborted) controller.abort();
    const lines = { stdout: new LineSplitter(), stderr: new LineSplitter() };
    const output = (stream: 'stdout' | 'stderr', chunk: string) => {
      for (const line of lines[stream].push(chunk)) emit(outputEvent(host, stream, line));
    };
    emit({ type: 'host-start', host });
    const outcome = await runWorker(
      worker,
      { host, signal: controller.signal, output },
      options.isFailure,
    );
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = lines[stream].flush();
      if (rest !== undefined) emit(outputEvent(host, stream, rest));
    }
    controllers.delete(host);
    if (outcome.status !== 'ok' && outcome.status !== 'cancelled') result.failures++;
    result.outcomes.push(outcome);
    emit({
      type: 'host-end',
      host,
      status: outcome.status,
      ...(outcome.error === undefined ? {} : { error: outcome.error }),
    });
  };

  const lane = async (): Promise<void> => {
    // Each lane takes the next host only while starting is allowed; bounded by the host count.
    for (let host = queue.shift(); host !== undefined; host = queue.shift()) {
      if (!mayStart()) {
        queue.unshift(host);
        return;
      }
      await runHost(host);
    }
  };

  const stopAll = () => {
    for (const controller of controllers.values()) controller.abort();
  };
  options.stop?.addEventListener('abort', stopAll, { once: true });
  const done = Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, lane)).then(
    () => {
      options.stop?.removeEventListener('abort', stopAll);
      mayStart();
      result.notStarted = [...queue];
      return result;
    },
  );
  return {
    done,
    cancelHost(host) {
      cancelled.add(host);
      controllers.get(host)?.abort();
    },
  };
}

/** `startFanOut(...).done`. */
export function fanOut<R>(
  options: FanOutOptions<R>,
  worker: (ctx: HostContext) => Promise<R>,
): Promise<FanOutResult<R>> {
  return startFanOut(options, worker).done;
}

function outputEvent(host: string, stream: 'stdout' | 'stderr', split: SplitLine): FanOutEvent {
  return { type: 'output', host, stream, line: split.line, ...(split.cut ? { cut: true } : {}) };
}

async function runWorker<R>(
  worker: (ctx: HostContext) => Promise<R>,
  ctx: HostContext,
  isFailure: ((value: R) => boolean) | undefined,
): Promise<HostOutcome<R>> {
  try {
    const value = await worker(ctx);
    return { host: ctx.host, status: isFailure?.(value) ? 'failed' : 'ok', value };
  } catch (error) {
    if (ctx.signal.aborted) return { host: ctx.host, status: 'cancelled', error };
    const status = isOpsbookError(error) && error.kind === 'unreachable' ? 'unreachable' : 'failed';
    return { host: ctx.host, status, error };
  }
}

/** Longest output line kept, in UTF-16 code units: the rest of a longer line is dropped. */
export const MAX_LINE_LENGTH = 64 * 1024;

/** One line of output; `cut` when it was longer than the splitter's cap and ends there. */
export interface SplitLine {
  line: string;
  cut: boolean;
}

/**
 * Splits streamed text into lines; the last partial line is kept until more text or `flush`.
 * Linear and bounded: each chunk is scanned once, and at most `maxLength` characters of a line
 * are kept. A longer line is emitted cut as soon as it passes the cap; what follows, up to its
 * newline, is consumed without being kept (one host printing 50 MB without a newline must cost
 * what 50 MB of ordinary lines cost, and no more memory than one line).
 */
export class LineSplitter {
  private pieces: string[] = [];
  private length = 0;
  /** The current line was emitted cut: drop everything up to its newline. */
  private isDropping = false;

  constructor(private readonly maxLength = MAX_LINE_LENGTH) {}

  /** Characters of the partial line held until its newline (never more than the cap). */
  get bufferedLength(): number {
    return this.length;
  }

  push(chunk: string): SplitLine[] {
    const lines: SplitLine[] = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf('\n', start);
      const end = newline < 0 ? chunk.length : newline;
      this.append(chunk, start, end, lines);
      if (newline < 0) break;
      if (this.isDropping) this.isDropping = false;
      else lines.push(this.take(false));
      start = newline + 1;
    }
    return lines;
  }

  flush(): SplitLine | undefined {
    const wasDropping = this.isDropping;
    this.isDropping = false;
    if (wasDropping || this.length === 0) return undefined;
    return this.take(false);
  }

  private append(chunk: string, start: number, end: number, lines: SplitLine[]): void {
    if (this.isDropping || start === end) return;
    const room = this.maxLength - this.length;
    if (end - start <= room) {
      this.pieces.push(chunk.slice(start, end));
      this.length += end - start;
      return;
    }
    let cutAt = start + room;
    // Never keep the first half of a surrogate pair alone at the end of a cut line.
    if (cutAt > start && isHighSurrogate(chunk.charCodeAt(cutAt - 1))) cutAt--;
    this.pieces.push(chunk.slice(start, cutAt));
    lines.push(this.take(true));
    this.isDropping = true;
  }

  private take(cut: boolean): SplitLine {
    const line = this.pieces.join('');
    this.pieces = [];
    this.length = 0;
    return { line: !cut && line.endsWith('\r') ? line.slice(0, -1) : line, cut };
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
