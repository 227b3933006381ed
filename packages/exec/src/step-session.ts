import { randomBytes } from 'node:crypto';
import { InterruptedError } from '@opsbook/schema';
import { encodeEnvBlock } from './shell-invocation.js';
import { quoteShellArg } from './shell-quote.js';
import {
  CommandCancelledError,
  capturedStreams,
  DEFAULT_MAX_CAPTURED_BYTES,
  type ExecRequest,
  type ExecResult,
  OutputCapture,
} from './transport.js';

/**
 * A step session runs the consecutive commands of one host through ONE long-lived shell, so
 * that a step costs a fork and an exec on the host instead of a new SSH session (sshd forks a
 * session process, starts the login shell, sets the user context: BENCHMARKS.md, fan-out).
 *
 *   sh -c SCRIPT opsbook-session
 *
 * stdin carries, first, a random end marker (128 bits, never on a command line), then per
 * command two lines of shell text: `set -- SHELL COMMAND` (both quoted by `quoteShellArg`, each
 * newline of the command written as "$nl" outside the quotes) and the env block of
 * `encodeEnvBlock`. The script evaluates the env block only in the command's own subshell,
 * so nothing of one step's environment reaches the script or the next step; after that eval
 * the subshell uses only positional and special parameters (see `shellInvocation` for why the
 * eval is safe). When the command ends, the subshell writes `MARKER STATUS` to stderr, then to
 * stdout; the command's output is what came before the marker on each stream.
 *
 * stdin is the lifeline, as in `shellInvocation`: while a command runs the script waits for the
 * next request, so EOF (timeout, abort, lost connection, killed runner) makes it kill its whole
 * process group. A clean end sends `exit 0` first, so that processes a step deliberately left
 * running (`nohup … &`) survive the end of the run, as they survive the end of an SSH session.
 * A marker cannot be forged by output a step merely reads, since the marker exists only in the
 * runner and in this script's memory; output written after a command ended (by a process it
 * left behind) is given to the next command of the session.
 */
const SCRIPT = [
  'IFS= read -r n || exit 0',
  `nl='\n'`,
  'while IFS= read -r r; do',
  '  eval "$r"',
  '  IFS= read -r e || break',
  '  { set -- "$1" "$2" "$nl" "$n"; eval "$e"; "$1" -c "$2" "$1"; set -- "$?" "$4"; echo "$2 $1" >&2; echo "$2 $1"; } </dev/null &',
  'done',
  'kill -KILL 0',
].join('\n');

/** The argv that starts a step session. */
export function stepSessionArgv(): string[] {
  return ['sh', '-c', SCRIPT, 'opsbook-session'];
}

let sessionLine: string | undefined;

/**
 * The same argv as one line of shell text, for an SSH exec request (quoted once, not per host).
 * `exec`: the login shell sshd runs it with becomes the script instead of waiting for it (dash,
 * Debian's /bin/sh, does not do that by itself): one process less on the host per connection.
 */
export function stepSessionLine(): string {
  sessionLine ??= `exec ${stepSessionArgv()
    .map((arg) => quoteShellArg(arg, 'command'))
    .join(' ')}`;
  return sessionLine;
}

/** The two request lines of one command (see above). */
export function encodeStepRequest(request: Pick<ExecRequest, 'command' | 'shell' | 'env'>): string {
  const command = quoteShellArg(request.command, 'command').replaceAll('\n', `'"$nl"'`);
  return `set -- ${request.shell ?? 'sh'} ${command}\n${encodeEnvBlock(request.env)}`;
}

/** The pipes of a started session script, whatever carries them (SSH channel, child process). */
export interface SessionPipes {
  write(text: string): void;
  onStdout(listener: (data: Buffer) => void): void;
  onStderr(listener: (data: Buffer) => void): void;
  onClose(listener: () => void): void;
  /** The script itself ended (its exit status came back), even while its pipes stay open. */
  onExit(listener: () => void): void;
  /** Ends stdin and closes: the script kills its process group (the lifeline). */
  destroy(): void;
}

export interface StepSessionOptions {
  /** The host's name, for messages. */
  host: string;
  /** The error of a command whose pipes closed before it ended (outcome unknown). */
  lostError: () => Error;
  /** Milliseconds clock for durations; default Date.now. */
  now?: () => number;
}

type StreamName = 'stdout' | 'stderr';

interface Running {
  capture: Record<StreamName, OutputCapture>;
  status: Partial<Record<StreamName, number>>;
  settle(outcome: { result?: ExecResult; error?: Error }): void;
  started: number;
  /**
   * Set once the command was killed (its timeout, or its signal aborted), while the kill waits
   * for the host to confirm it (see `awaitKill`): how the command ends, confirmed or not.
   */
  killEnd?: (isConfirmed: boolean) => { result?: ExecResult; error?: Error };
}

/** Random bytes for end markers, drawn from the system 4 KiB at a time; each 16 used once. */
let markerPool = Buffer.alloc(0);
let markerAt = 0;

/** A new end marker: 128 random bits, never used before in this process. */
function newMarker(): string {
  if (markerAt + 16 > markerPool.length) {
    // One system call per 256 sessions instead of one each (BENCHMARKS.md, fan-out).
    markerPool = randomBytes(4096);
    markerAt = 0;
  }
  markerAt += 16;
  return `OPSBOOK-END-${markerPool.toString('hex', markerAt - 16, markerAt)}`;
}

/**
 * How long a clean `close` waits for the script to read `exit 0` and end. Past it the
 * connection may go anyway (a host that stopped answering is not waited for longer).
 */
const CLEAN_END_WAIT_MS = 5_000;

/**
 * How long a timed-out command's kill waits for the host to confirm it (the script's exit, or
 * its channel closing): the same grace as a clean end, past which a host is not answering.
 */
export const KILL_CONFIRM_WAIT_MS = CLEAN_END_WAIT_MS;

export class StepSession {
  private readonly marker = newMarker();
  /** Resolves once the script has ended or its pipes closed. */
  private readonly scriptEnded: Promise<void>;
  private readonly scanners: Record<StreamName, EndMarkerScanner>;
  /** Output that arrived while no command ran: it goes to the next command. */
  private readonly stray: Record<StreamName, Buffer[]> = { stdout: [], stderr: [] };
  private running: Running | undefined;
  private closed = false;
  /** The marker line, until it goes out in front of the first request (see `send`). */
  private unsentMarker: string | undefined;

  constructor(
    private readonly pipes: SessionPipes,
    private readonly options: StepSessionOptions,
  ) {
    this.scanners = {
      stdout: new EndMarkerScanner(this.marker),
      stderr: new EndMarkerScanner(this.marker),
    };
    pipes.onStdout((d) => this.receive('stdout', d));
    pipes.onStderr((d) => this.receive('stderr', d));
    let ended!: () => void;
    this.scriptEnded = new Promise<void>((resolve) => {
      ended = resolve;
    });
    pipes.onExit(ended);
    pipes.onClose(() => {
      this.closed = true;
      ended();
      // A killed command's channel closing is its kill confirmed, not a lost connection.
      if (this.running?.killEnd) this.running.settle(this.running.killEnd(true));
      else this.running?.settle({ error: options.lostError() });
    });
    this.unsentMarker = `${this.marker}\n`;
  }

  /** True once the session has ended (closed, killed, or its pipes closed): start another. */
  get ended(): boolean {
    return this.closed;
  }

  /** Runs one command; the caller runs one at a time (a second one while busy is refused). */
  run(request: ExecRequest): Promise<ExecResult> {
    if (this.running || this.closed) {
      return Promise.reject(new Error('the step session is busy or has ended'));
    }
    if (request.signal?.aborted) {
      return Promise.reject(new InterruptedError('the command was cancelled before it started'));
    }
    let text: string;
    try {
      text = encodeStepRequest(request); // a NUL byte: ValidationError before anything is sent
    } catch (error) {
      return Promise.reject(error);
    }
    const now = this.options.now ?? Date.now;
    const limit = request.maxCapturedBytes ?? DEFAULT_MAX_CAPTURED_BYTES;
    return new Promise<ExecResult>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      // Marked killed before the kill, so that the pipes closing is its confirmation, not a lost
      // connection; a host that confirms nothing does not get the command called killed.
      const onAbort = () => {
        const { host } = this.options;
        this.awaitKill(running, (isConfirmed) => ({
          error: new CommandCancelledError(host, isConfirmed),
        }));
      };
      const running: Running = {
        capture: {
          stdout: new OutputCapture(request.onStdout, limit),
          stderr: new OutputCapture(request.onStderr, limit),
        },
        status: {},
        started: now(),
        settle: (outcome) => {
          if (this.running !== running) return;
          this.running = undefined;
          clearTimeout(timer);
          request.signal?.removeEventListener('abort', onAbort);
          if (outcome.error) reject(outcome.error);
          else if (outcome.result) resolve(outcome.result);
        },
      };
      this.running = running;
      for (const stream of ['stdout', 'stderr'] as const) {
        for (const data of this.stray[stream].splice(0)) running.capture[stream].push(data);
      }
      request.signal?.addEventListener('abort', onAbort, { once: true });
      if (request.timeoutMs !== undefined) {
        timer = setTimeout(() => this.timeOut(running, now), request.timeoutMs);
      }
      this.send(text);
    });
  }

  /**
   * Writes to the script, the marker first if it has not gone out yet: one write, so one SSH
   * data message (client CPU per host and a wake-up of sshd less; BENCHMARKS.md, fan-out).
   */
  private send(text: string): void {
    this.pipes.write(this.unsentMarker === undefined ? text : this.unsentMarker + text);
    this.unsentMarker = undefined;
  }

  /**
   * Ends the session cleanly: what steps left running on purpose keeps running. Resolves once
   * the script has ended (at most CLEAN_END_WAIT_MS): only then may the connection go. A command
   * still running is killed instead, with what it started.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.running) return this.kill();
    this.send('exit 0\n');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.scriptEnded,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLEAN_END_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  /** The connection under the session is gone: the running command fails with `error`. */
  abandon(error: Error): void {
    this.closed = true;
    // A killed command whose kill was not confirmed yet: the host never confirmed it.
    const killEnd = this.running?.killEnd;
    if (killEnd) this.running?.settle(killEnd(false));
    else this.running?.settle({ error });
  }

  /**
   * Kills a command that ran past its timeout, and waits (at most KILL_CONFIRM_WAIT_MS) for the
   * host to confirm it: the script's exit or its channel closing. A frozen host (its sshd
   * stopped, the TCP connection still open) confirms nothing: the result says so, rather than
   * calling a command killed that may still run there.
   */
  private timeOut(running: Running, now: () => number): void {
    const result = this.result(running, now, true);
    this.awaitKill(running, (isConfirmed) => ({
      result: isConfirmed ? result : { ...result, killUnconfirmed: true },
    }));
  }

  /**
   * Kills the running command and settles it with `killEnd` once the host confirmed the kill
   * (the script's exit, or its channel closing), or unconfirmed after KILL_CONFIRM_WAIT_MS.
   */
  private awaitKill(running: Running, killEnd: NonNullable<Running['killEnd']>): void {
    if (running.killEnd) return;
    running.killEnd = killEnd;
    this.kill();
    let waited: NodeJS.Timeout | undefined;
    void Promise.race([
      this.scriptEnded.then(() => true),
      new Promise<boolean>((resolve) => {
        waited = setTimeout(() => resolve(false), KILL_CONFIRM_WAIT_MS);
      }),
    ]).then((isConfirmed) => {
      clearTimeout(waited);
      running.settle(killEnd(isConfirmed));
    });
  }

  private kill(): void {
    this.closed = true;
    this.pipes.destroy();
  }

  private receive(stream: StreamName, data: Buffer): void {
    const running = this.running;
    if (!running || running.status[stream] !== undefined) {
      this.stray[stream].push(data);
      return;
    }
    const scanned = this.scanners[stream].push(data);
    if (scanned.output.length) running.capture[stream].push(scanned.output);
    if (scanned.status === undefined) return;
    running.status[stream] = scanned.status;
    if (scanned.rest.length) this.stray[stream].push(scanned.rest);
    if (running.status.stdout !== undefined && running.status.stderr !== undefined) {
      running.settle({ result: this.result(running, this.options.now ?? Date.now, false) });
    }
  }

  private result(running: Running, now: () => number, timedOut: boolean): ExecResult {
    const { stdout, stderr } = running.capture;
    stdout.end();
    stderr.end();
    return {
      exitCode: timedOut ? null : (running.status.stdout ?? null),
      signal: null,
      timedOut,
      ...capturedStreams(stdout, stderr),
      durationMs: now() - running.started,
    };
  }
}

/**
 * Finds `MARKER STATUS\n` in one stream. Everything before the marker is output; bytes that
 * could be the start of a marker are held back until the next chunk tells.
 */
/** No bytes: one empty Buffer for every scanner (an empty Buffer cannot be changed). */
const NO_BYTES = Buffer.alloc(0);

export class EndMarkerScanner {
  private readonly marker: Buffer;
  private held: Buffer = NO_BYTES;

  constructor(marker: string) {
    this.marker = Buffer.from(`${marker} `);
  }

  push(chunk: Buffer): { output: Buffer; status?: number; rest: Buffer } {
    const data = this.held.length ? Buffer.concat([this.held, chunk]) : chunk;
    const at = data.indexOf(this.marker);
    if (at < 0) {
      const keep = this.heldPrefix(data);
      this.held = keep === 0 ? NO_BYTES : Buffer.from(data.subarray(data.length - keep));
      return { output: data.subarray(0, data.length - keep), rest: NO_BYTES };
    }
    const end = data.indexOf(0x0a, at + this.marker.length);
    if (end < 0) {
      this.held = Buffer.from(data.subarray(at));
      return { output: data.subarray(0, at), rest: NO_BYTES };
    }
    this.held = NO_BYTES;
    const status = Number(data.subarray(at + this.marker.length, end).toString('latin1'));
    return { output: data.subarray(0, at), status, rest: data.subarray(end + 1) };
  }

  /** How many bytes at the end of `data` are the start of the marker (the longest such tail). */
  private heldPrefix(data: Buffer): number {
    const first = this.marker[0] as number;
    const min = Math.max(0, data.length - (this.marker.length - 1));
    let keep = 0;
    for (
      let i = data.lastIndexOf(first);
      i >= min;
      i = i > 0 ? data.lastIndexOf(first, i - 1) : -1
    ) {
      if (data.compare(this.marker, 0, data.length - i, i) === 0) keep = data.length - i;
    }
    return keep;
  }
}
