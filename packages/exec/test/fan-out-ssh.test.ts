import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findFreePort, type Sshd, startSshdHosts } from '@opsbook/testkit/sshd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectSsh,
  createTransportPool,
  type FanOutEvent,
  fanOut,
  type SshTarget,
  type TransportPool,
} from '../src/index.js';

let hosts: Sshd[] = [];
let pool: TransportPool;
const targets = new Map<string, SshTarget>();

beforeAll(async () => {
  hosts = await startSshdHosts(3, {});
  const knownHostsFile = path.join(hosts[0]?.dir ?? '', 'known_hosts');
  await writeFile(knownHostsFile, hosts.map((h) => `${h.knownHostsLine}\n`).join(''));
  for (const [i, h] of hosts.entries()) {
    targets.set(`web${i + 1}`, {
      name: `web${i + 1}`,
      host: h.host,
      port: h.port,
      user: h.user,
      identityFile: h.clientKeyPath,
    });
  }
  // A host that is down: a free port on an address where no sshd listens.
  targets.set('down1', {
    name: 'down1',
    host: '127.0.0.20',
    port: await findFreePort('127.0.0.20'),
    identityFile: hosts[0]?.clientKeyPath,
  });
  pool = createTransportPool((name) =>
    connectSsh(targets.get(name) as SshTarget, { knownHostsFile }),
  );
});
afterAll(async () => {
  await pool.closeAll();
  await Promise.all(hosts.map((h) => h.dispose()));
});

async function runOn(
  host: string,
  command: string,
  output: (s: 'stdout' | 'stderr', c: string) => void,
) {
  const t = await pool.get(host);
  return t.exec({
    command,
    onStdout: (c) => output('stdout', c),
    onStderr: (c) => output('stderr', c),
  });
}

describe('fan-out over real sshd hosts', () => {
  it('runs on every reachable host within the concurrency bound, reports the down host as unreachable, streams lines with the host', async () => {
    let active = 0;
    let peak = 0;
    const events: FanOutEvent[] = [];
    const result = await fanOut(
      {
        hosts: ['web1', 'down1', 'web2', 'web3'],
        concurrency: 2,
        onEvent: (e) => events.push(e),
        isFailure: (r: { exitCode: number | null }) => r.exitCode !== 0,
      },
      async ({ host, output }) => {
        active++;
        peak = Math.max(peak, active);
        try {
          return await runOn(
            host,
            'echo "hello from $SSH_CONNECTION" | cut -d" " -f1,2,3 | cut -c1-10',
            output,
          );
        } finally {
          active--;
        }
      },
    );
    expect(peak).toBe(2);
    const status = Object.fromEntries(result.outcomes.map((o) => [o.host, o.status]));
    expect(status).toEqual({ web1: 'ok', web2: 'ok', web3: 'ok', down1: 'unreachable' });
    expect(result.failures).toBe(1);
    const lines = events.filter((e) => e.type === 'output').map((e) => `${e.host}: ${e.line}`);
    expect(lines.sort()).toEqual(['web1: hello from', 'web2: hello from', 'web3: hello from']);
    const down = result.outcomes.find((o) => o.host === 'down1');
    expect(down?.error).toMatchObject({ code: 'SSH_CONNECTION_REFUSED' });
  });

  it('honours maxFailures: after the down host fails, no further host starts', async () => {
    const started: string[] = [];
    const result = await fanOut(
      { hosts: ['down1', 'web1', 'web2'], concurrency: 1, maxFailures: 0 },
      async ({ host, output }) => {
        started.push(host);
        return runOn(host, 'true', output);
      },
    );
    expect(started).toEqual(['down1']);
    expect(result).toMatchObject({
      stoppedByFailures: true,
      notStarted: ['web1', 'web2'],
      failures: 1,
    });
  });

  it('abort stops new hosts while the running one finishes its command', async () => {
    const controller = new AbortController();
    const started: string[] = [];
    const result = await fanOut(
      { hosts: ['web1', 'web2', 'web3'], concurrency: 1, signal: controller.signal },
      async ({ host, output }) => {
        started.push(host);
        const pending = runOn(host, 'echo started; sleep 0.2; echo finished', output);
        controller.abort(); // like SIGINT while the first host runs
        return pending;
      },
    );
    expect(started).toEqual(['web1']);
    expect(result.interrupted).toBe(true);
    expect(result.outcomes[0]).toMatchObject({
      host: 'web1',
      status: 'ok',
      value: { stdout: 'started\nfinished\n', exitCode: 0 },
    });
    expect(result.notStarted).toEqual(['web2', 'web3']);
  });
});
