import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bareWorkspace } from './bare-workspace.js';
import { repoRoot, userEnv } from './run-cli.js';

let dir: string;
let remove: () => Promise<void>;
beforeAll(async () => {
  ({ dir, remove } = await bareWorkspace('opsbook-pnpm-signal-'));
});
afterAll(async () => {
  await remove?.();
});

/** Whether something listens on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('pnpm -s opsbook, as the README runs it', () => {
  it('passes SIGTERM (a service stop, a CI timeout) on to opsbook, which stops', async () => {
    // `opsbook alerts serve` runs until SIGTERM; pnpm is what a service manager or CI signals.
    const pnpm = spawn(
      'pnpm',
      ['-s', '-C', repoRoot, 'opsbook', 'alerts', 'serve', '--listen', '127.0.0.1:0'],
      // Its own process group: whatever is left of it is ended with the group below.
      { cwd: dir, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    try {
      await stopsWithPnpm(pnpm);
    } finally {
      try {
        process.kill(-pnpm.pid!, 'SIGKILL');
      } catch {
        // The group is gone: nothing was left behind.
      }
    }
  });
});

async function stopsWithPnpm(pnpm: ReturnType<typeof spawn>): Promise<void> {
  let stdout = '';
  let stderr = '';
  pnpm.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const port = await new Promise<number>((resolve, reject) => {
    pnpm.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(stdout);
      if (m) resolve(Number(m[1]));
    });
    pnpm.once('exit', () => reject(new Error(`pnpm exited first: ${stderr}`)));
  });
  expect(await listening(port)).toBe(true);
  pnpm.kill('SIGTERM');
  await once(pnpm, 'exit');
  // opsbook itself got the signal: it said so and stopped listening (it is not left behind,
  // orphaned, as when pnpm's shell ran it as a child of its own).
  expect(stderr).toContain('SIGTERM: finishing the requests in flight, then stopping');
  let stillListening = true;
  for (let i = 0; i < 50 && stillListening; i++) {
    stillListening = await listening(port);
    if (stillListening) await new Promise((r) => setTimeout(r, 100));
  }
  expect(stillListening).toBe(false);
}
