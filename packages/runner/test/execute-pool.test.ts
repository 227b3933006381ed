import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalTransport } from '@opsbook/exec';
import { type Config, InterruptedError } from '@opsbook/schema';
import { type Sshd, startSshd } from '@opsbook/testkit/sshd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executePlan } from '../src/execute/execute.js';
import { hostTransportPool, openTransportFor } from '../src/execute/run.js';
import type { RunEvent } from '../src/execute/run-events.js';
import type { PlannedHost } from '../src/plan/plan.js';
import { planOf, runStep } from './planned.js';

/*
 * The run's transports against a real sshd: one connection per host reused by every step, closed
 * as soon as that host is done (so open connections stay bounded by the parallelism), and the
 * host's ansible_timeout used as the connect timeout.
 */

let sshd: Sshd;
let dir = '';
let knownHosts = '';

beforeAll(async () => {
  sshd = await startSshd({ address: '127.0.0.10' });
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-pool-'));
  knownHosts = path.join(dir, 'known_hosts');
  await writeFile(knownHosts, `${sshd.knownHostsLine}\n`);
});
afterAll(async () => {
  await sshd?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function plannedHost(name: string, extra: Partial<PlannedHost['connection']> = {}): PlannedHost {
  return {
    name,
    connection: {
      address: sshd.host,
      port: sshd.port,
      user: sshd.user,
      privateKeyFile: sshd.clientKeyPath,
      become: false,
      becomeUser: 'root',
      transport: 'ssh',
      ...extra,
    },
    phases: {
      prechecks: [runStep('pre', 'true')],
      steps: [
        runStep('one', 'echo "$OPSBOOK_HOST"'),
        runStep('two', 'true'),
        runStep('three', 'true'),
      ],
      postchecks: [runStep('post', 'true')],
      rollback: [],
      evidence: [runStep('evidence', 'uname')],
    },
  };
}

const runRequest = () => ({
  config: { knownHosts, stateDir: path.join(dir, 'state') } as Config,
  acceptNewHostKeys: false,
  env: {},
  signal: new AbortController().signal,
});

describe('transports of a run', () => {
  it('uses one connection per host for every phase and closes it when the host is done', async () => {
    const hosts = Array.from({ length: 6 }, (_, i) => plannedHost(`host-${i}`));
    const pool = hostTransportPool(hosts, openTransportFor(runRequest(), undefined));
    const loginsBefore = sshd.countLogins();
    let mostOpen = 0;
    const openAtHostEnd: number[] = [];
    const result = await executePlan({
      plan: planOf('pool-test', hosts, { concurrency: 2 }),
      runId: 'pool-run',
      stateDir: path.join(dir, 'state'),
      bundleDir: dir,
      secrets: {},
      transportFor: (h) => pool.get(h.name),
      releaseTransport: (h) => pool.release(h.name),
      local: createLocalTransport(),
      record: async (event: RunEvent) => {
        mostOpen = Math.max(mostOpen, pool.size);
        if (event.type === 'host-end') openAtHostEnd.push(pool.size);
      },
      mask: (t) => t,
      signal: new AbortController().signal,
    });
    expect(result.hosts.map((h) => [h.host, h.status, h.steps.length])).toEqual(
      hosts.map((h) => [h.name, 'ok', 6]),
    );
    expect(sshd.countLogins() - loginsBefore).toBe(6); // one login per host for its 6 steps
    expect(mostOpen).toBeLessThanOrEqual(2); // the parallelism, not the 6 hosts
    // A host's connection is gone before its host-end: at most the other worker's is open.
    expect(Math.max(...openAtHostEnd)).toBeLessThanOrEqual(1);
    expect(pool.size).toBe(0);
  });

  it('logs in while host-start is written, but starts no step before it is durable', async () => {
    const hosts = [plannedHost('early-0'), plannedHost('early-1')];
    const pool = hostTransportPool(hosts, openTransportFor(runRequest(), undefined));
    const loginsBefore = sshd.countLogins();
    const events: string[] = [];
    // host-start stays unwritten until both hosts have logged in: the run must not wait for it
    // to connect, nor start a step before it.
    let release = () => {};
    const written = new Promise<void>((r) => {
      release = r;
    });
    const record = async (event: RunEvent) => {
      events.push(event.type === 'host-start' ? `host-start ${event.host}` : event.type);
      if (event.type === 'host-start') await written;
    };
    const run = executePlan({
      plan: planOf('pool-test', hosts, { concurrency: 2 }),
      runId: 'early-run',
      stateDir: path.join(dir, 'state'),
      bundleDir: dir,
      secrets: {},
      transportFor: (h) => pool.get(h.name),
      releaseTransport: (h) => pool.release(h.name),
      local: createLocalTransport(),
      record,
      mask: (t) => t,
      signal: new AbortController().signal,
    });
    // Both log in with their host-start still unwritten (a regression would wait here forever).
    while (sshd.countLogins() - loginsBefore < 2) await new Promise((r) => setTimeout(r, 50));
    expect(sshd.countLogins() - loginsBefore).toBe(2);
    expect(events).toEqual(['host-start early-0', 'host-start early-1']);
    release();
    const result = await run;
    expect(result.hosts.map((h) => h.status)).toEqual(['ok', 'ok']);
    expect(events.filter((e) => e === 'step-start')).toHaveLength(12);
  });

  it('runs nothing on a host whose host-start the journal refuses, and closes its connection', async () => {
    const hosts = [plannedHost('refused-0')];
    const pool = hostTransportPool(hosts, openTransportFor(runRequest(), undefined));
    const events: string[] = [];
    const result = await executePlan({
      plan: planOf('pool-test', hosts, { concurrency: 1 }),
      runId: 'refused-run',
      stateDir: path.join(dir, 'state'),
      bundleDir: dir,
      secrets: {},
      transportFor: (h) => pool.get(h.name),
      releaseTransport: (h) => pool.release(h.name),
      local: createLocalTransport(),
      record: async (event: RunEvent) => {
        events.push(event.type);
        if (event.type === 'host-start') throw new Error('host-started-twice');
      },
      mask: (t) => t,
      signal: new AbortController().signal,
    });
    expect(result.hosts).toMatchObject([{ host: 'refused-0', status: 'failed', steps: [] }]);
    expect(result.hosts[0]?.error).toContain('host-started-twice');
    expect(events).toEqual(['host-start', 'host-end']);
    expect(pool.size).toBe(0);
  });

  it('calls a host whose connecting was cancelled (Ctrl-C) cancelled, not failed: nothing ran there', async () => {
    const hosts = [plannedHost('cancelled-0')];
    const result = await executePlan({
      plan: planOf('pool-test', hosts, { concurrency: 1 }),
      runId: 'cancelled-run',
      stateDir: path.join(dir, 'state'),
      bundleDir: dir,
      secrets: {},
      transportFor: async () => {
        throw new InterruptedError('connecting to cancelled-0 was cancelled');
      },
      local: createLocalTransport(),
      record: async () => {},
      mask: (t) => t,
      signal: new AbortController().signal,
    });
    expect(result.hosts).toMatchObject([{ host: 'cancelled-0', status: 'cancelled', steps: [] }]);
  });

  it("connects 20 hosts at once on the run's one signal without Node's listener-leak warning", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const hosts = Array.from({ length: 20 }, (_, i) => plannedHost(`many-${i}`));
      const open = openTransportFor(runRequest(), undefined);
      const transports = await Promise.all(hosts.map((h) => open(h)));
      await Promise.all(transports.map((t) => t.close()));
      // Node reports the warning on the next tick: give it one.
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it('gives up on a host after its own ansible_timeout, and the reason names it', async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.10', () => r()));
    const port = (silent.address() as { port: number }).port;
    try {
      const open = openTransportFor(runRequest(), undefined);
      const error = await open(plannedHost('silent', { port, connectTimeoutMs: 400 })).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ kind: 'unreachable', code: 'SSH_CONNECT_TIMEOUT' });
      expect((error as Error).message).toContain('within 0.4 s');
    } finally {
      silent.close();
    }
  });
});
