import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startJiraFake } from './jira/jira-fake.js';
import { findFreePort } from './sshd.js';

/*
 * A test server stopped and started again on its port (postgres `restart()`, sshd `restart()`,
 * the Jira fake's `down()`/`up()`) failed to start when, meanwhile, a connection any process
 * opened had been given that port as its local port: a port 0 chose is from the same kernel range
 * as those. Ports are now found below that range.
 */

const [low, high] = (await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'))
  .trim()
  .split(/\s+/)
  .map(Number) as [number, number];

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () =>
      server.close(() => resolve(true)),
    );
  });
}

describe('findFreePort', () => {
  it('gives free ports outside the range of outgoing connections’ local ports', async () => {
    expect(low).toBeGreaterThan(11_000); // this machine's range leaves room below it
    const ports = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const port = await findFreePort('127.0.0.1');
      expect(port < low || port > high, `port ${port} is in ${low}-${high}`).toBe(true);
      expect(await canListen(port)).toBe(true);
      ports.add(port);
    }
    expect(ports.size).toBeGreaterThan(1); // not one fixed port
  });
});

describe('the Jira fake', () => {
  it('listens outside that range, and down() then up() serves on the same port', async () => {
    const fake = await startJiraFake({ flavour: 'cloud' });
    try {
      const port = Number(new URL(fake.baseUrl).port);
      expect(port < low || port > high, `port ${port} is in ${low}-${high}`).toBe(true);
      await fake.down();
      await fake.up();
      expect(Number(new URL(fake.baseUrl).port)).toBe(port);
      expect(await canListen(port)).toBe(false);
    } finally {
      await fake.close();
    }
  });
});
