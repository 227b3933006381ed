import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { type Postgres, startPostgres } from './postgres.js';
import { findFreePort } from './sshd.js';

/*
 * startPostgres finds a free port, then the server binds it a moment later: another process (a
 * test of another package, running at the same time) may have taken it meanwhile, and the server
 * did not start. It now starts on another port, as sshd and Alertmanager do.
 */

let taken: Server | undefined;
let pg: Postgres | undefined;
afterAll(async () => {
  await pg?.dispose();
  await new Promise((r) => (taken ? taken.close(r) : r(undefined)));
});

describe('startPostgres', () => {
  it('starts on another port when the one it found is taken before the server binds it', async () => {
    const server = createServer();
    taken = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const busy = (server.address() as { port: number }).port;
    const found: number[] = [];
    pg = await startPostgres({
      // The first port found is one another process holds by the time the server binds it.
      findPort: async (address) => {
        const port = found.length === 0 ? busy : await findFreePort(address);
        found.push(port);
        return port;
      },
    });
    expect(found).toHaveLength(2);
    expect(pg.port).toBe(found[1]);
    expect((await pg.psql('select 1')).trim()).toBe('1');
  }, 120_000);
});
