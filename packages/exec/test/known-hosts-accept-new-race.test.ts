import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import path from 'node:path';
import { type Sshd, startSshd } from '@opsbook/testkit/sshd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectSsh,
  createSshFileCache,
  hostKeyFingerprint,
  type SshTarget,
  type Transport,
} from '../src/index.js';

/*
 * `--accept-new-host-keys` trusts a host's first key. Within one process, a second connection
 * to the same host:port (another inventory name for it, a later step's connector, the next
 * shard of a worker) must be held to that key, not take a different one as new again because
 * it read known_hosts before the first connection added its line. The "network" between is a
 * loopback forwarder that sends the first connection to one real sshd and the second to
 * another with its own host key: what an attacker on the path to a new host does.
 */

let real: Sshd;
let impostor: Sshd;
let forwarder: Server;
const opened: Transport[] = [];

/**
 * Forwards its n-th connection to `upstreams[n]`. The first one's answers are held until the
 * second connection arrives: by then both have read known_hosts (a connection reads it before it
 * opens its socket), as when two connections to one host start together.
 */
async function startForwarder(upstreams: Sshd[]): Promise<Server> {
  let count = 0;
  let releaseFirst: (() => void) | undefined;
  const server = createServer((client: Socket) => {
    const n = count++;
    const to = upstreams[Math.min(n, upstreams.length - 1)]!;
    const up = tcpConnect(to.port, to.host);
    client.pipe(up);
    up.pipe(client);
    if (n === 0) {
      up.pause();
      releaseFirst = () => up.resume();
    } else releaseFirst?.();
    for (const [a, b] of [
      [client, up],
      [up, client],
    ] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const fingerprintOf = (h: Sshd) =>
  hostKeyFingerprint(Buffer.from(h.hostPublicKey.split(' ')[1] ?? '', 'base64'));

beforeAll(async () => {
  real = await startSshd();
  impostor = await startSshd({ clientKeyPath: real.clientKeyPath });
  forwarder = await startForwarder([real, impostor]);
});
afterAll(async () => {
  await Promise.all(opened.map((t) => t.close()));
  await new Promise((resolve) => forwarder?.close(resolve));
  await Promise.all([real?.dispose(), impostor?.dispose()]);
});

describe('a host key accepted as new in this process', () => {
  it('refuses a different key for the same host:port on another connection started at the same time (HOST_KEY_CHANGED), and adds one line', async () => {
    expect(fingerprintOf(real)).not.toBe(fingerprintOf(impostor));
    const address = forwarder.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const file = path.join(real.dir, 'accept_new_known_hosts');
    await writeFile(file, '');
    const target = (name: string): SshTarget => ({
      name,
      host: '127.0.0.1',
      port,
      user: real.user,
      identityFile: real.clientKeyPath,
    });
    // As a run opens its hosts: one file cache, accept-new, both connections at once.
    const options = {
      knownHostsFile: file,
      acceptNewHostKeys: true,
      fileCache: createSshFileCache(),
    };
    const results = await Promise.allSettled([
      connectSsh(target('web-01'), options),
      connectSsh(target('web-01-alias'), options),
    ]);
    for (const r of results) if (r.status === 'fulfilled') opened.push(r.value);
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    expect(refused, 'exactly one of the two keys is taken').toHaveLength(1);
    expect(refused[0]).toMatchObject({ kind: 'unreachable', code: 'HOST_KEY_CHANGED' });
    // The message names the key presented and the one accepted earlier in this process.
    const message = String(refused[0].message);
    const fingerprints = [fingerprintOf(real), fingerprintOf(impostor)];
    for (const fp of fingerprints) expect(message).toContain(fp);
    const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    // The connection that was taken reached the sshd whose key known_hosts now holds.
    const taken = results.find((r) => r.status === 'fulfilled')!.value;
    const where = (await taken.exec({ command: 'echo "$SSH_CONNECTION"' })).stdout.trim();
    const reached = [real, impostor].find((h) => where.endsWith(` ${h.port}`))!;
    expect(lines[0]).toBe(`[127.0.0.1]:${port} ${reached.hostPublicKey}`);
  });
});
