import { StringDecoder } from 'node:string_decoder';

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
  /** Output kept in the result per stream; the callbacks still see everything. Default 1 MiB. */
  maxCapturedBytes?: number | undefined;
}

export interface ExecResult {
  /** null when the command was killed (timeout) or ended by a signal. */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** True when stdout or stderr was longer than `maxCapturedBytes` and was cut. */
  truncated: boolean;
  durationMs: number;
}

export const DEFAULT_MAX_CAPTURED_BYTES = 1024 * 1024;

/** Collects one stream: decodes UTF-8 across chunk boundaries, forwards, keeps a bounded copy. */
export class OutputCapture {
  text = '';
  truncated = false;
  private readonly decoder = new StringDecoder('utf8');

  constructor(
    private readonly onChunk: ((chunk: string) => void) | undefined,
    private readonly limit: number,
  ) {}

  push(data: Buffer | string): void {
    this.emit(typeof data === 'string' ? data : this.decoder.write(data));
  }

  end(): void {
    this.emit(this.decoder.end());
  }

  private emit(chunk: string): void {
    if (chunk === '') return;
    this.onChunk?.(chunk);
    const room = this.limit - this.text.length;
    if (chunk.length > room) this.truncated = true;
    if (room > 0) this.text += chunk.slice(0, room);
  }
}
