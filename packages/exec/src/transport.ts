import { StringDecoder } from 'node:string_decoder';
import { InterruptedError } from '@opsbook/schema';

/**
 * A place where commands run: the local machine or one SSH connection. The runner opens one
 * transport per host and runs every step of that host through it (README: One step session per
 * host).
 */
export interface Transport {
  /** The inventory name of the host. */
  readonly host: string;
  /** Runs shell text; a non-zero exit or a timeout is a result, a lost connection throws. */
  exec(request: ExecRequest): Promise<ExecResult>;
  /**
   * Writes these bytes to a file on the host: what was checked in memory is what arrives (a
   * `script:` step's bytes, checked against the plan's sha256), never a file read again by path.
   * Over SSH by SFTP, or on a host without it by a command that checks the bytes' size and
   * sha256 on the host before the file takes `mode` (copy-over-exec.ts).
   */
  writeFile(
    remotePath: string,
    bytes: Uint8Array,
    options?: { mode?: number; signal?: AbortSignal },
  ): Promise<void>;
  /**
   * Copies a local file to the host (backup copies, checked on the host after); without SFTP,
   * checked on the host as for `writeFile`.
   */
  copyFile(
    localPath: string,
    remotePath: string,
    options?: { mode?: number; signal?: AbortSignal },
  ): Promise<void>;
  close(): Promise<void>;
  /**
   * The host keys this connection took as new (`acceptNewHostKeys`: the host's, and a jump
   * host's) and added to known_hosts: trusted on first use, without a check, so a run says and
   * journals them.
   */
  readonly acceptedHostKeys?: readonly AcceptedHostKey[];
  /**
   * Where an SSH connection went: the address, port and user it logged in with, through which
   * jump hosts. The plan holds only what the inventory sets, so a run journals this before any
   * step on the host. Unset for the local transport.
   */
  readonly route?: HostRoute;
}

/** The route an SSH connection took, as resolved from the inventory, ~/.ssh/config and defaults. */
export interface HostRoute {
  address: string;
  port: number;
  user: string;
  /** The jump hosts in order, each as connected to. */
  jumps: Array<{ address: string; port: number; user: string }>;
  /**
   * What ~/.ssh/config chose for the host itself (its Port, its User) that its target (the plan)
   * left unset: the approving senior did not see these.
   */
  fromSshConfig: Array<'port' | 'user'>;
}

/** A host key accepted as new and added to known_hosts. */
export interface AcceptedHostKey {
  /** The inventory name of the host connected to (for a jump host: the host it led to). */
  host: string;
  /** The address and port whose key it is (a jump host's own, for a jump host). */
  address: string;
  port: number;
  keyType: string;
  /** `SHA256:…`, as ssh-keygen -lf prints it. */
  fingerprint: string;
  knownHostsFile: string;
}

export interface ExecRequest {
  /** Shell text, run by `sh -c` (or `bash -c` with `shell: 'bash'`). Rendered by `renderRunTemplate`. */
  command: string;
  shell?: 'sh' | 'bash';
  /**
   * Variables for the command (params, secrets). They travel on stdin, never on a command line,
   * and are exported by fixed shell text: see `shellInvocation` and `StepSession`.
   */
  env?: Readonly<Record<string, string>> | undefined;
  /** Run as root through `sudo -n`: fails at once instead of waiting for a password. */
  sudo?: boolean | undefined;
  /** Kills the command (its whole process group) after this many milliseconds. */
  timeoutMs?: number | undefined;
  /** Aborting kills the command and rejects with InterruptedError. */
  signal?: AbortSignal | undefined;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /**
   * Output kept in the result per stream, its last characters; the callbacks still see everything.
   * Default 1 MiB.
   */
  maxCapturedBytes?: number | undefined;
}

export interface ExecResult {
  /** null when the command was killed (timeout) or ended by a signal. */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /**
   * True when the command timed out and its kill was sent but the host did not confirm it (it
   * stopped answering: a frozen machine): the command may still be running there. Absent when
   * the kill was confirmed, or when there was no kill.
   */
  killUnconfirmed?: true;
  stdout: string;
  stderr: string;
  /**
   * True when stdout or stderr was longer than `maxCapturedBytes`: each keeps its last
   * `maxCapturedBytes` characters (a failing command says why at the end).
   */
  truncated: boolean;
  /** Characters cut from the start of stdout (absent when none were). */
  stdoutCut?: number;
  /** Characters cut from the start of stderr (absent when none were). */
  stderrCut?: number;
  durationMs: number;
}

export const DEFAULT_MAX_CAPTURED_BYTES = 1024 * 1024;

/**
 * A running command cancelled by its request's signal (a second Ctrl-C): the kill was sent, and
 * `isKillConfirmed` says whether the host confirmed it (the command's end, or its channel
 * closing). A frozen host (its sshd stopped, the TCP connection still open) confirms nothing:
 * the command may still be running there, and the message says so rather than "killed".
 */
export class CommandCancelledError extends InterruptedError {
  /**
   * `message`: what a caller that ran the command for some work (a backup, a restore) says of
   * that work instead; it keeps `isKillConfirmed`, and must say the same of the kill.
   */
  constructor(
    readonly host: string,
    readonly isKillConfirmed: boolean,
    message?: string,
    /**
     * How the command ended, when the host reported it with the kill's confirmation: the kill's
     * signal, or an exit of its own just before the kill reached it. Absent when the host
     * reported no exit status (the kill unconfirmed, or a channel that closed without one).
     */
    readonly ended?: CommandEnd,
  ) {
    super(
      message ??
        (isKillConfirmed
          ? `the command on ${host} was cancelled and killed`
          : `the command on ${host} was cancelled; ${killUnconfirmedText(host)}: the command may still be running there, check the host`),
    );
  }
}

/** How a command ended, as its host reported it. */
export interface CommandEnd {
  exitCode: number | null;
  signal: string | null;
}

/** The words for a kill a host did not confirm, shared by every message that says so. */
export function killUnconfirmedText(host: string): string {
  return `the kill was sent but not confirmed (host ${host} is not answering)`;
}

/** Collects one stream: decodes UTF-8 across chunk boundaries, forwards, keeps a bounded copy. */
export class OutputCapture {
  /** Characters dropped from the start: the output was longer than the limit. */
  cut = 0;
  private readonly decoder = new StringDecoder('utf8');
  /** The kept text, in pieces; joined and trimmed to the limit when read or twice as long. */
  private pieces: string[] = [];
  private length = 0;

  constructor(
    private readonly onChunk: ((chunk: string) => void) | undefined,
    private readonly limit: number,
  ) {}

  /** The last `limit` characters: where a failing command says why. */
  get text(): string {
    this.compact();
    return this.pieces[0] ?? '';
  }

  get truncated(): boolean {
    this.compact();
    return this.cut > 0;
  }

  push(data: Buffer | string): void {
    this.emit(typeof data === 'string' ? data : this.decoder.write(data));
  }

  end(): void {
    this.emit(this.decoder.end());
  }

  private emit(chunk: string): void {
    if (chunk === '') return;
    this.onChunk?.(chunk);
    this.pieces.push(chunk);
    this.length += chunk.length;
    // Joining only when twice the limit is held keeps a long output linear to capture.
    if (this.length > 2 * this.limit) this.compact();
  }

  private compact(): void {
    if (this.pieces.length <= 1 && this.length <= this.limit) return;
    const all = this.pieces.join('');
    const kept = all.length > this.limit ? all.slice(all.length - this.limit) : all;
    this.cut += all.length - kept.length;
    this.pieces = kept === '' ? [] : [kept];
    this.length = kept.length;
  }
}

/** A result's captured streams: the tail of each, and how much of each was cut before it. */
export function capturedStreams(
  stdout: OutputCapture,
  stderr: OutputCapture,
): Pick<ExecResult, 'stdout' | 'stderr' | 'truncated' | 'stdoutCut' | 'stderrCut'> {
  return {
    stdout: stdout.text,
    stderr: stderr.text,
    truncated: stdout.cut > 0 || stderr.cut > 0,
    ...(stdout.cut > 0 ? { stdoutCut: stdout.cut } : {}),
    ...(stderr.cut > 0 ? { stderrCut: stderr.cut } : {}),
  };
}
