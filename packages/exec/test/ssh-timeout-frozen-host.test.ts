import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { processesUnder, resumeAll, type Sshd, startSshd, stopAll } from '@opsbook/testkit/sshd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandCancelledError, connectSsh, execStream, type Transport } from '../src/index.js';

/** What `done` rejects with (undefined when it resolves). */
function rejectionOf(done: Promise<unknown>): Promise<unknown> {
  return done.then(
    () => undefined,
    (e: unknown) => e,
  );
}

/** A stream of `command` over `t` cancelled as soon as it is asked for: what it rejects with. */
function cancelledAtOnce(t: Transport, command: string): Promise<unknown> {
  const controller = new AbortController();
  const run = execStream(t, { command, signal: controller.signal });
  run.stdout.on('error', () => {});
  controller.abort();
  return rejectionOf(run.done);
}

/*
 * A command that times out on a host that has frozen (its sshd processes stopped with SIGSTOP,
 * the TCP connection still open): the kill goes out on the connection, but nothing on the host
 * can act on it or answer. The result must not claim the command was killed: it says the kill
 * is unconfirmed. On a host that answers, the kill is confirmed as before.
 */

let host: Sshd;
let knownHosts = '';
const opened: Transport[] = [];
let frozen: number[] = [];

async function connect(): Promise<Transport> {
  const t = await connectSsh(
    {
      name: 'h1',
      host: host.host,
      port: host.port,
      user: host.user,
      identityFile: host.clientKeyPath,
    },
    { knownHostsFile: knownHosts },
  );
  opened.push(t);
  return t;
}

/** Every process under sshd (its sessions and what they run), read from /proc at once. */
const sessionProcesses = (): number[] => processesUnder(host.pid);

beforeAll(async () => {
  host = await startSshd();
  knownHosts = path.join(host.dir, 'known_hosts');
  await writeFile(knownHosts, `${host.knownHostsLine}\n`);
});
afterAll(async () => {
  resumeAll(frozen);
  await Promise.all(opened.map((t) => t.close()));
  await host?.dispose();
});

describe('a timed-out command and its kill', () => {
  it('on a host that answers: the kill is confirmed', async () => {
    const t = await connect();
    const result = await t.exec({ command: 'sleep 2981', timeoutMs: 300 });
    expect(result).toMatchObject({ timedOut: true, exitCode: null });
    expect(result.killUnconfirmed).toBeUndefined();
  });

  it('on a frozen host: the result says the kill was sent but not confirmed', async () => {
    const t = await connect();
    // The step session is open and answering before the host freezes.
    expect((await t.exec({ command: 'echo up' })).stdout).toBe('up\n');
    const running = t.exec({
      command: 'echo started; sleep 2982',
      timeoutMs: 2_000,
      onStdout: () => {
        if (frozen.length > 0) return;
        frozen = stopAll(sessionProcesses());
      },
    });
    const result = await running;
    expect(frozen.length).toBeGreaterThan(0);
    expect(result).toMatchObject({ timedOut: true, exitCode: null, killUnconfirmed: true });
  });
});

/*
 * A streamed command (what backup and restore actions run: stdout is an archive) cancelled by
 * its signal (a second Ctrl-C) must wait for the host to confirm the kill, as a step's command
 * does: a frozen host confirms nothing, and the command is not called killed.
 */
describe('a streamed command cancelled by its signal', () => {
  /** Starts a stream that prints a line and then sleeps, and resolves once the line arrived. */
  async function startedStream(t: Transport, controller: AbortController, freeze: boolean) {
    const run = execStream(t, {
      command: 'echo started; sleep 2983',
      signal: controller.signal,
    });
    run.stdout.on('error', () => {}); // `done` carries the outcome
    await new Promise<void>((resolve) => {
      run.stdout.once('data', () => {
        if (freeze) {
          frozen.push(...stopAll(sessionProcesses()));
        }
        resolve();
      });
    });
    return run;
  }

  it('on a host that answers: rejects once the kill is confirmed', async () => {
    const t = await connect();
    const controller = new AbortController();
    const run = await startedStream(t, controller, false);
    controller.abort();
    const error = await rejectionOf(run.done);
    expect(error).toBeInstanceOf(CommandCancelledError);
    expect(error).toMatchObject({ isKillConfirmed: true });
    expect(String((error as Error).message)).toContain('was cancelled and killed');
  });

  it('on a frozen host: rejects saying the kill was sent but not confirmed', async () => {
    const t = await connect();
    const controller = new AbortController();
    const run = await startedStream(t, controller, true);
    controller.abort();
    const error = await rejectionOf(run.done);
    expect(error).toBeInstanceOf(CommandCancelledError);
    expect(error).toMatchObject({ isKillConfirmed: false });
    const message = String((error as Error).message);
    expect(message).not.toContain('killed');
    expect(message).toContain('the kill was sent but not confirmed (host h1 is not answering)');
    // stdout carries the same error: a consumer that reads only the stream is told the same.
    expect(run.stdout.errored).toBeInstanceOf(CommandCancelledError);
  });
});

/*
 * Cancelled between the exec request and ssh2 giving its channel: the request may already have
 * reached the host and its command started there, so the kill is confirmed only by that channel's
 * end once it comes. A frozen host gives no channel: the kill is not called confirmed.
 */
describe('a command cancelled before its channel came', () => {
  /** A connection that answered once, then its host's sshd processes frozen. */
  async function frozenConnection(): Promise<Transport> {
    const t = await connect();
    expect((await t.exec({ command: 'echo up' })).stdout).toBe('up\n');
    frozen.push(...stopAll(sessionProcesses()));
    return t;
  }

  it('a streamed command on a host that answers: the kill is confirmed once the channel closed', async () => {
    const t = await connect();
    const error = await cancelledAtOnce(t, 'sleep 2984');
    expect(error).toBeInstanceOf(CommandCancelledError);
    expect(error).toMatchObject({ isKillConfirmed: true });
  });

  it('a streamed command on a frozen host: the kill is sent but not confirmed', async () => {
    const t = await frozenConnection();
    const error = await cancelledAtOnce(t, 'sleep 2985');
    expect(error).toBeInstanceOf(CommandCancelledError);
    expect(error).toMatchObject({ isKillConfirmed: false });
    expect(String((error as Error).message)).toContain(
      'the kill was sent but not confirmed (host h1 is not answering)',
    );
  });

  it('a command on its own channel (sudo) on a frozen host: the kill is sent but not confirmed', async () => {
    const t = await frozenConnection();
    const controller = new AbortController();
    const running = t.exec({ command: 'sleep 2986', sudo: true, signal: controller.signal });
    controller.abort();
    const error = await rejectionOf(running);
    expect(error).toBeInstanceOf(CommandCancelledError);
    expect(error).toMatchObject({ isKillConfirmed: false });
  });
});
