import type { Duplex } from 'node:stream';
import { InterruptedError, type UnreachableError } from '@opsbook/schema';
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import { bytesSource, copyOverExec, localFileSource } from './copy-over-exec.js';
import { execErrors } from './error-codes.js';
import {
  execStreamOverSsh,
  isRefusedBeforeStart,
  type StreamingTransport,
  streamExecKey,
} from './exec-stream.js';
import { encodeEnvBlock, shellInvocationLine } from './shell-invocation.js';
import {
  connectSshHost,
  type SshConnection,
  type SshConnectOptions,
  type SshTarget,
} from './ssh-connect.js';
import {
  KILL_CONFIRM_WAIT_MS,
  type SessionPipes,
  StepSession,
  stepSessionLine,
} from './step-session.js';
import {
  CommandCancelledError,
  capturedStreams,
  DEFAULT_MAX_CAPTURED_BYTES,
  type ExecRequest,
  type ExecResult,
  OutputCapture,
  type Transport,
} from './transport.js';

export interface SshTransportOptions extends SshConnectOptions {
  /** Milliseconds clock for durations; default Date.now. */
  now?: () => number;
}

/**
 * Connects to one host and returns its transport: ONE SSH connection that every step of the
 * host reuses. Commands run one after another through one step session (one SSH channel, see
 * `StepSession`); a `sudo` command, a command started while another runs, and streams get a
 * channel of their own. Nothing is executed before the host key is verified.
 */
export async function connectSsh(
  target: SshTarget,
  options: SshTransportOptions,
): Promise<Transport> {
  const connection = await connectSshHost(target, options);
  return createSshTransport(target.name, connection, options.now ?? Date.now);
}

function createSshTransport(
  name: string,
  connection: SshConnection,
  now: () => number,
): StreamingTransport {
  const { client } = connection;
  const facts = {
    host: name,
    address: connection.resolved.hostName,
    port: connection.resolved.port,
  };
  const pending = new Set<(error: Error) => void>();
  // Why the connection is over, and the error a later command gets: made only when one asks
  // (an Error captures a stack; every host of a run is closed, and nothing runs after that).
  let ended: 'lost' | 'closed' | undefined;
  let lost: UnreachableError | undefined;
  let closing: Promise<void> | undefined;
  const lostError = (): UnreachableError => {
    lost ??=
      ended === 'closed'
        ? new execErrors.UnreachableError(
            'SSH_CONNECTION_CLOSED',
            `host ${name}: the transport was closed`,
            facts,
          )
        : new execErrors.UnreachableError(
            'SSH_CONNECTION_LOST',
            `host ${name}: the SSH connection was lost; the command's outcome is unknown: check the host before running again`,
            facts,
          );
    return lost;
  };
  client.on('close', () => {
    ended ??= 'lost';
    for (const fail of pending) fail(lostError());
    pending.clear();
  });
  let sftp: Promise<SFTPWrapper> | undefined;
  /** The callback of an sftp write: SSH_COPY_FAILED naming what failed, or done. */
  const copied =
    (what: string, resolve: () => void, reject: (e: Error) => void) =>
    (err: Error | null | undefined) =>
      err
        ? reject(
            new execErrors.UnreachableError(
              'SSH_COPY_FAILED',
              `host ${name}: ${what} failed: ${err.message}`,
              facts,
            ),
          )
        : resolve();
  const openSftp = () =>
    (sftp ??= new Promise((resolve, reject) =>
      client.sftp((err, s) => (err ? reject(err) : resolve(s))),
    ));
  // A host whose sshd has no SFTP subsystem is learned once per connection: its files then go
  // over a command, checked on the host before use (copyOverExec), without asking again.
  let hasSftp = true;
  /** The SFTP session, or undefined when the host has no SFTP subsystem. */
  const sftpSession = async (): Promise<SFTPWrapper | undefined> => {
    if (!hasSftp) return undefined;
    try {
      return await openSftp();
    } catch (e) {
      sftp = undefined;
      if (isSftpMissing(e)) {
        hasSftp = false;
        return undefined;
      }
      throw new execErrors.UnreachableError(
        'SSH_COPY_FAILED',
        `host ${name}: could not open an SFTP session: ${e instanceof Error ? e.message : String(e)}`,
        facts,
      );
    }
  };
  const ctx: ExecContext = { name, facts, now, pending, lostError };
  const sessions = hostSessions(client, ctx);
  const transport: StreamingTransport = {
    host: name,
    route: connection.route,
    ...(connection.acceptedHostKeys.length > 0
      ? { acceptedHostKeys: connection.acceptedHostKeys }
      : {}),
    [streamExecKey](request) {
      if (ended) throw lostError();
      return execStreamOverSsh(client, name, facts, request);
    },
    async exec(request) {
      if (ended) throw lostError();
      const ownChannel = () => execOverSsh(client, request, ctx);
      return request.sudo ? ownChannel() : sessions.run(request, ownChannel);
    },
    async writeFile(remotePath, bytes, options) {
      if (ended) throw lostError();
      options?.signal?.throwIfAborted();
      const session = await sftpSession();
      if (!session) return copyOverExec(transport, remotePath, bytesSource(bytes), options);
      await new Promise<void>((resolve, reject) => {
        session.writeFile(
          remotePath,
          Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
          modeOf(options),
          copied(`writing ${remotePath}`, resolve, reject),
        );
      });
    },
    async copyFile(localPath, remotePath, options) {
      if (ended) throw lostError();
      options?.signal?.throwIfAborted();
      const session = await sftpSession();
      if (!session)
        return copyOverExec(transport, remotePath, await localFileSource(localPath), options);
      await new Promise<void>((resolve, reject) => {
        session.fastPut(
          localPath,
          remotePath,
          modeOf(options),
          copied(`copying ${localPath} to ${remotePath}`, resolve, reject),
        );
      });
    },
    close() {
      // Once: a second close must not end the connection while the first waits for the session.
      closing ??= (async () => {
        ended ??= 'closed';
        await sessions.close();
        client.end();
        for (const hop of connection.hops) hop.end();
        endWithin(connection.socket, CONNECTION_END_WAIT_MS);
      })();
      return closing;
    },
  };
  return transport;
}

/**
 * How long a closed connection's TCP socket may take to end. A host that stopped answering (its
 * sshd frozen, the connection still open) never ends it: the socket would keep opsbook's process
 * alive until the keepalive gave up (about a minute), after the run had ended.
 */
const CONNECTION_END_WAIT_MS = KILL_CONFIRM_WAIT_MS;

/** Destroys `socket` unless it has closed within `ms` (the timer itself keeps nothing alive). */
function endWithin(socket: Duplex, ms: number): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), ms).unref();
  socket.once('close', () => clearTimeout(timer));
}

/**
 * ssh2's error when sshd refuses the `sftp` subsystem (no `Subsystem sftp` line: the request
 * gets a channel failure), or when the subsystem's program exits at once (a `Subsystem sftp`
 * naming a server that is not installed).
 */
function isSftpMissing(e: unknown): boolean {
  return (
    e instanceof Error &&
    /^Unable to start subsystem: sftp$|^Received exit code \d+ while establishing SFTP session$/.test(
      e.message,
    )
  );
}

/**
 * The host's step session, opened on first use and again after one ended (a timeout or an
 * abort kills it). While it runs a command, or when it cannot be opened, a command gets a
 * channel of its own (`fallback`). The choice is made synchronously, so two commands started
 * in the same tick never both take the session.
 */
function hostSessions(client: Client, ctx: ExecContext) {
  let current: StepSession | undefined;
  let busy = false;
  const open = () =>
    new Promise<StepSession | undefined>((resolve) => {
      const isRequested = startExec(client, stepSessionLine(), (err, ch) => {
        if (err) return resolve(undefined);
        resolve(
          new StepSession(channelPipes(ch), {
            host: ctx.name,
            now: ctx.now,
            lostError: () => connectionLostWhileRunning(ctx),
          }),
        );
      });
      // The connection is already gone: the fallback's own channel says so.
      if (!isRequested) resolve(undefined);
    });
  return {
    run(request: ExecRequest, fallback: () => Promise<ExecResult>): Promise<ExecResult> {
      if (busy) return fallback();
      busy = true;
      // The connection's own loss (ctx.pending) names it first, as for a command on its own channel.
      const onLost = (error: Error) => current?.abandon(error);
      return (async () => {
        try {
          if (!current || current.ended) current = await open();
          if (!current) return await fallback();
          ctx.pending.add(onLost);
          return await current.run(request);
        } finally {
          ctx.pending.delete(onLost);
          busy = false;
        }
      })();
    },
    /** Ends the step session cleanly; resolves once the connection may go (see StepSession.close). */
    async close() {
      await current?.close();
    },
  };
}

function channelPipes(ch: ClientChannel): SessionPipes {
  return {
    write: (text) => ch.write(text),
    onStdout: (listener) => ch.on('data', listener),
    onStderr: (listener) => ch.stderr.on('data', listener),
    onClose: (listener) => ch.on('close', listener),
    onExit: (listener) => ch.on('exit', listener),
    destroy: () => {
      ch.end();
      ch.close();
    },
  };
}

function connectionLostWhileRunning(ctx: ExecContext): UnreachableError {
  return new execErrors.UnreachableError(
    'SSH_CONNECTION_LOST',
    `host ${ctx.name}: the connection was lost while a command ran; its outcome is unknown: check the host before running again`,
    ctx.facts,
  );
}

interface ExecContext {
  name: string;
  facts: Record<string, unknown>;
  now: () => number;
  pending: Set<(error: Error) => void>;
  /** The error of a command that meets the connection gone (lost, or closed by us). */
  lostError: () => UnreachableError;
}

function execOverSsh(client: Client, request: ExecRequest, ctx: ExecContext): Promise<ExecResult> {
  const envBlock = encodeEnvBlock(request.env);
  const line = shellInvocationLine(request);
  if (request.signal?.aborted)
    return Promise.reject(new InterruptedError('the command was cancelled before it started'));
  const started = ctx.now();
  const limit = request.maxCapturedBytes ?? DEFAULT_MAX_CAPTURED_BYTES;
  const stdout = new OutputCapture(request.onStdout, limit);
  const stderr = new OutputCapture(request.onStderr, limit);
  return new Promise((resolve, reject) => {
    let channel: ClientChannel | undefined;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    /** How the command ends once killed (timeout, abort), while the host has to confirm the kill. */
    let killEnd: ((isConfirmed: boolean) => { result?: ExecResult; error?: Error }) | undefined;
    const exit = { code: null as number | null, signal: null as string | null };
    const finish = (outcome: { result?: ExecResult; error?: Error }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      ctx.pending.delete(onLost);
      if (outcome.error) reject(outcome.error);
      else if (outcome.result) resolve(outcome.result);
    };
    const result = (timedOut: boolean): ExecResult => {
      stdout.end();
      stderr.end();
      return {
        exitCode: timedOut ? null : exit.code,
        signal: exit.signal,
        timedOut,
        ...capturedStreams(stdout, stderr),
        durationMs: ctx.now() - started,
      };
    };
    // EOF on the command's stdin is its lifeline ending: the remote wrapper kills its process group.
    const kill = () => {
      channel?.end();
      channel?.close();
    };
    // The channel's exit or close confirms the kill; a frozen host confirms nothing.
    const awaitKill = (end: NonNullable<typeof killEnd>) => {
      if (killEnd) return;
      kill();
      // Before ssh2 gave the channel, the exec request may have reached the host and its command
      // started: only the channel's end once it comes (the callback closes it), or the host
      // refusing the request, confirms the kill; a frozen host gives neither.
      killEnd = end;
      clearTimeout(timer);
      timer = setTimeout(() => finish(end(false)), KILL_CONFIRM_WAIT_MS);
    };
    const onAbort = () =>
      awaitKill((isConfirmed) => ({ error: new CommandCancelledError(ctx.name, isConfirmed) }));
    const onLost = (error: Error) => finish(killEnd ? killEnd(false) : { error });
    ctx.pending.add(onLost);
    request.signal?.addEventListener('abort', onAbort, { once: true });
    if (request.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        const timedOut = result(true);
        awaitKill((isConfirmed) => ({
          result: isConfirmed ? timedOut : { ...timedOut, killUnconfirmed: true },
        }));
      }, request.timeoutMs);
    }
    const isRequested = startExec(client, line, (err, ch) => {
      if (err) {
        if (killEnd) return finish(killEnd(isRefusedBeforeStart(err)));
        finish({
          error: new execErrors.UnreachableError(
            'SSH_CHANNEL_FAILED',
            `host ${ctx.name}: could not start a command (${err.message})`,
            ctx.facts,
          ),
        });
        return;
      }
      channel = ch;
      if (settled) return kill();
      if (killEnd) {
        const end = killEnd;
        ch.on('close', () => finish(end(true)));
        return kill();
      }
      ch.on('data', (d: Buffer) => stdout.push(d));
      ch.stderr.on('data', (d: Buffer) => stderr.push(d));
      ch.on('exit', (code: number | null, signal?: string) => {
        if (killEnd) return finish(killEnd(true));
        exit.code = code ?? null;
        exit.signal = signal ? `SIG${signal}` : null;
      });
      ch.on('close', () => {
        if (killEnd) return finish(killEnd(true));
        // A channel that closes without an exit status lost its connection (or sshd died): the
        // command's outcome is unknown, which is not the same as a failure.
        if (exit.code === null && exit.signal === null) {
          finish({ error: connectionLostWhileRunning(ctx) });
        } else finish({ result: result(false) });
      });
      ch.write(envBlock);
    });
    // ssh2 throws, rather than calling back, once its socket is gone (a keepalive that gave up
    // on a frozen host, before the connection's 'close'): the command never started.
    if (!isRequested) finish({ error: ctx.lostError() });
  });
}

/** client.exec, false when ssh2 threw instead of calling back (its socket is already gone). */
function startExec(
  client: Client,
  line: string,
  callback: (err: Error | undefined, ch: ClientChannel) => void,
): boolean {
  try {
    client.exec(line, callback);
    return true;
  } catch {
    return false;
  }
}

/** The sftp options of a copy: its file mode, when one is asked for. */
function modeOf(options: { mode?: number } | undefined): { mode?: number } {
  return options?.mode === undefined ? {} : { mode: options.mode };
}
