import { spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { type UnreachableError, UsageError } from '@opsbook/schema';
import type { Client, ClientChannel } from 'ssh2';
import { execErrors } from './error-codes.js';
import { encodeEnvBlock, shellInvocation, shellInvocationLine } from './shell-invocation.js';
import { KILL_CONFIRM_WAIT_MS } from './step-session.js';
import {
  CommandCancelledError,
  type CommandEnd,
  DEFAULT_MAX_CAPTURED_BYTES,
  OutputCapture,
  type Transport,
} from './transport.js';

/**
 * A command whose stdout is a byte stream (a tar or pg_dump archive) instead of collected text.
 * It starts exactly like `Transport.exec` (same wrapper: env block on stdin, lifeline, `sudo -n`),
 * so secrets such as PGPASSWORD still never appear on a command line.
 */
export interface StreamExecRequest {
  command: string;
  shell?: 'sh' | 'bash';
  env?: Readonly<Record<string, string>>;
  sudo?: boolean | undefined;
  /**
   * Aborting kills the command; `done` rejects with a CommandCancelledError (an InterruptedError)
   * saying whether the host confirmed the kill, and `stdout` is destroyed with it.
   */
  signal?: AbortSignal | undefined;
  onStderr?: (chunk: string) => void;
  /** stderr kept in the exit record; default 1 MiB. */
  maxCapturedBytes?: number;
  /**
   * Bytes for the command's stdin, after the env block (an archive to restore), streamed with
   * backpressure; their end is the command's EOF. Such a command has no lifeline (see
   * shell-invocation.ts): an abort, a lost connection or an error of this stream ends its stdin
   * early, so it must treat a short input as a failure. After an error of this stream, `done`
   * rejects with it once the command ended.
   */
  stdin?: Readable | undefined;
}

export interface StreamExit {
  exitCode: number | null;
  signal: string | null;
  stderr: string;
  durationMs: number;
}

export interface StreamExecution {
  /** The command's stdout, with backpressure: the command waits while the consumer is slow. */
  stdout: Readable;
  /** Settles after the command ended AND stdout was read to its end (or destroyed). */
  done: Promise<StreamExit>;
}

export type StreamExecFunction = (request: StreamExecRequest) => StreamExecution;

/** Where a transport made by this package keeps its byte-stream exec (not part of `Transport`). */
export const streamExecKey: unique symbol = Symbol('opsbook.exec.stream');

type StreamCapable = Transport & { [streamExecKey]?: StreamExecFunction };

/** A transport of this package: `Transport` plus its byte-stream exec. */
export type StreamingTransport = Transport & { [streamExecKey]: StreamExecFunction };

/** Runs a command on the transport's host and returns its stdout as bytes. */
export function execStream(transport: Transport, request: StreamExecRequest): StreamExecution {
  const run = (transport as StreamCapable)[streamExecKey];
  if (!run) {
    throw new UsageError(
      `host ${transport.host}: this transport cannot stream bytes: use one made by connectSsh or createLocalTransport`,
    );
  }
  return run(request);
}

/** True when `execStream` works on this transport. */
export function canExecStream(transport: Transport): boolean {
  return typeof (transport as StreamCapable)[streamExecKey] === 'function';
}

/**
 * Whether ssh2's error for an exec request says the host refused it (the channel's open failed,
 * or the exec request was refused): nothing started there. Any other error (the connection lost
 * while the request was pending) leaves it unknown whether the command started.
 */
export function isRefusedBeforeStart(err: Error): boolean {
  return 'reason' in err || err.message === 'Unable to exec';
}

/** The SSH side, called by the SSH transport with its connection. */
export function execStreamOverSsh(
  client: Client,
  host: string,
  facts: Record<string, unknown>,
  request: StreamExecRequest,
): StreamExecution {
  const envBlock = encodeEnvBlock(request.env);
  const line = shellInvocationLine({ ...request, input: request.stdin !== undefined });
  request.signal?.throwIfAborted();
  const started = Date.now();
  const stderr = new OutputCapture(
    request.onStderr,
    request.maxCapturedBytes ?? DEFAULT_MAX_CAPTURED_BYTES,
  );
  const stdout = new PassThrough({ highWaterMark: 1 << 20 });
  const done = new Promise<StreamExit>((resolve, reject) => {
    let channel: ClientChannel | undefined;
    let inputError: Error | undefined;
    const exit = { code: null as number | null, signal: null as string | null };
    /** Set once the command was killed, while the host has to confirm the kill. */
    let killed: ((isConfirmed: boolean, ended?: CommandEnd) => void) | undefined;
    // As a step's command (StepSession): the kill is called done only once the host confirmed
    // it (the channel's exit or close); a frozen host confirms nothing within
    // KILL_CONFIRM_WAIT_MS, and the error says the command may still be running there.
    const onAbort = () => {
      if (killed) return;
      let isSettled = false;
      const cancel = (isConfirmed: boolean, ended?: CommandEnd) => {
        if (isSettled) return;
        isSettled = true;
        const error = new CommandCancelledError(host, isConfirmed, undefined, ended);
        stdout.destroy(error);
        reject(error);
      };
      // Before ssh2 gave the channel, the exec request may already have reached the host and
      // its command started: the kill is confirmed only by the channel's end once it comes (the
      // callback closes it), or by the host refusing the request; a frozen host gives neither.
      channel?.end();
      channel?.close();
      const timer = setTimeout(() => cancel(false), KILL_CONFIRM_WAIT_MS);
      killed = (isConfirmed, ended) => {
        clearTimeout(timer);
        cancel(isConfirmed, ended);
      };
    };
    request.signal?.addEventListener('abort', onAbort, { once: true });
    // ssh2 throws, rather than calling back, once its socket is gone (a keepalive that gave up on
    // a frozen host, before the connection's 'close'): the command never started.
    const lost = () => {
      request.signal?.removeEventListener('abort', onAbort);
      const error = new execErrors.UnreachableError(
        'SSH_CONNECTION_LOST',
        `host ${host}: the SSH connection was lost before the command could start; nothing ran: check the host, then run again`,
        facts,
      );
      stdout.destroy(error);
      reject(error);
    };
    try {
      client.exec(line, (err, ch) => {
        if (err) {
          request.signal?.removeEventListener('abort', onAbort);
          if (killed) return killed(isRefusedBeforeStart(err));
          const error = new execErrors.UnreachableError(
            'SSH_CHANNEL_FAILED',
            `host ${host}: could not start a command (${err.message})`,
            facts,
          );
          stdout.destroy(error);
          return reject(error);
        }
        channel = ch;
        if (killed) {
          const confirm = killed;
          ch.on('exit', () => confirm(true));
          ch.on('close', () => confirm(true));
          ch.end();
          return ch.close();
        }
        ch.pipe(stdout);
        ch.stderr.on('data', (d: Buffer) => stderr.push(d));
        ch.on('exit', (code: number | null, signal?: string) => {
          exit.code = code ?? null;
          exit.signal = signal ? `SIG${signal}` : null;
          // The exit status that confirms the kill says how the command ended: by the kill, or
          // by itself just before it (a restore that had its whole archive may have completed).
          if (killed) return killed(true, { exitCode: exit.code, signal: exit.signal });
        });
        ch.on('close', () => {
          request.signal?.removeEventListener('abort', onAbort);
          request.stdin?.destroy();
          stderr.end();
          if (killed)
            return killed(
              true,
              exit.code === null && exit.signal === null
                ? undefined
                : { exitCode: exit.code, signal: exit.signal },
            );
          if (inputError) {
            stdout.destroy(inputError);
            return reject(inputError);
          }
          if (exit.code === null && exit.signal === null) {
            const error = new execErrors.UnreachableError(
              'SSH_CONNECTION_LOST',
              `host ${host}: the connection was lost while a command ran; its outcome is unknown`,
              facts,
            );
            stdout.destroy(error);
            return reject(error);
          }
          resolve({
            exitCode: exit.code,
            signal: exit.signal,
            stderr: stderr.text,
            durationMs: Date.now() - started,
          });
        });
        ch.write(envBlock);
        const input = request.stdin;
        if (input) {
          // The input failed: its EOF comes early, and the command ends as on a short input.
          input.once('error', (e) => {
            inputError = e;
            ch.end();
          });
          input.pipe(ch);
        }
      });
    } catch {
      lost();
    }
  });
  done.catch(() => {}); // the caller may only look at stdout's error
  return { stdout, done };
}

/** Where and with which inherited environment the local transport starts its commands. */
export interface LocalSpawnOptions {
  cwd: string | undefined;
  env: Readonly<Record<string, string>>;
  /** The name the transport reports as its host (a cancelled stream's error names it). */
  host?: string;
}

/** The error of a command that could not be started on this machine (exec and streamed exec). */
export function localSpawnFailed(file: string, e: Error): UnreachableError {
  return new execErrors.UnreachableError(
    'LOCAL_SPAWN_FAILED',
    `could not start ${file}: ${e.message}`,
    { host: 'localhost' },
  );
}

/** The local side, called by the local transport. */
export function execStreamLocal(
  { cwd, env, host = 'localhost' }: LocalSpawnOptions,
  request: StreamExecRequest,
): StreamExecution {
  const envBlock = encodeEnvBlock(request.env);
  request.signal?.throwIfAborted();
  const [file = 'sh', ...args] = shellInvocation({
    ...request,
    input: request.stdin !== undefined,
  });
  const started = Date.now();
  const stderr = new OutputCapture(
    request.onStderr,
    request.maxCapturedBytes ?? DEFAULT_MAX_CAPTURED_BYTES,
  );
  // detached: the wrapper leads its own process group, so one kill reaches every child.
  const child = spawn(file, args, { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  /**
   * Set once the command was killed: as over SSH, the kill is called done only once it is
   * confirmed (the command's exit); a process that does not die within KILL_CONFIRM_WAIT_MS (one
   * stuck in the kernel, on a hung NFS mount) leaves it unconfirmed.
   */
  let killed: ((isConfirmed: boolean, ended?: CommandEnd) => void) | undefined;
  let cancelled: CommandCancelledError | undefined;
  let exitedWith: CommandEnd | undefined;
  const onAbort = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // The group is already gone.
    }
    const timer = setTimeout(() => killed?.(false), KILL_CONFIRM_WAIT_MS);
    killed = (isConfirmed, ended) => {
      clearTimeout(timer);
      killed = undefined;
      cancelled = new CommandCancelledError(host, isConfirmed, undefined, ended);
      child.stdout.destroy(cancelled);
      settle?.(cancelled);
    };
    // Ended already (its output not yet read to the end): its exit status is the confirmation.
    if (exitedWith) killed(true, exitedWith);
  };
  request.signal?.addEventListener('abort', onAbort, { once: true });
  child.stderr.on('data', (d: Buffer) => stderr.push(d));
  child.stdin.on('error', () => {}); // EPIPE when the command exits without reading: harmless
  child.stdin.write(envBlock);
  let inputError: Error | undefined;
  const input = request.stdin;
  if (input) {
    input.once('error', (e) => {
      inputError = e;
      child.stdin.end();
    });
    input.pipe(child.stdin);
  }
  /** Rejects `done` with a cancelled command's error, once its kill is confirmed or given up. */
  let settle: ((error: Error) => void) | undefined;
  child.once('exit', (code, signal) => {
    exitedWith = { exitCode: code, signal };
    killed?.(true, exitedWith);
  });
  const done = new Promise<StreamExit>((resolve, reject) => {
    settle = reject;
    child.once('error', (e) => {
      request.signal?.removeEventListener('abort', onAbort);
      reject(localSpawnFailed(file, e));
    });
    child.once('close', (code, signal) => {
      request.signal?.removeEventListener('abort', onAbort);
      child.stdin.destroy();
      input?.destroy();
      stderr.end();
      if (cancelled) return reject(cancelled);
      if (inputError) return reject(inputError);
      resolve({
        exitCode: code,
        signal: signal ?? null,
        stderr: stderr.text,
        durationMs: Date.now() - started,
      });
    });
  });
  done.catch(() => {});
  return { stdout: child.stdout, done };
}
