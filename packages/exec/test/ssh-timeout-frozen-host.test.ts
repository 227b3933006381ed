import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Sshd, startSshd } from '@opsbook/testkit/sshd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSsh, type Transport } from '../src/index.js';

/*
 * A command that times out on a host that has frozen (its sshd processes stopped with SIGSTOP,
 * the TCP connection still open): the kill goes out on the connection, but nothing on the host
 * can act on it or answer. The result must not claim the command was killed: it says the kill
 * is unconfirmed. On a host that answers, the kill is confirmed as before.
 */

const execFileAsync = promisify(execFile);

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

/** Every process under sshd: its session processes and the commands they run. */
async function sessionProcesses(): Promise<number[]> {
  const found: number[] = [];
  let frontier = [host.pid];
  while (frontier.length) {
    const next: number[] = [];
    for (const parent of frontier) {
      const { stdout } = await execFileAsync('ps', ['-o', 'pid=', '--ppid', String(parent)]).catch(
        () => ({ stdout: '' }),
      );
      next.push(...stdout.split('\n').filter(Boolean).map(Number));
    }
    found.push(...next);
    frontier = next;
  }
  return found;
}

beforeAll(async () => {
  host = await startSshd();
  knownHosts = path.join(host.dir, 'known_hosts');
  await writeFile(knownHosts, `${host.knownHostsLine}\n`);
});
afterAll(async () => {
  for (const pid of frozen) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // Already gone.
    }
  }
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
        void sessionProcesses().then((pids) => {
          frozen = pids;
          for (const pid of pids) process.kill(pid, 'SIGSTOP');
        });
      },
    });
    const result = await running;
    expect(frozen.length).toBeGreaterThan(0);
    expect(result).toMatchObject({ timedOut: true, exitCode: null, killUnconfirmed: true });
  });
});
