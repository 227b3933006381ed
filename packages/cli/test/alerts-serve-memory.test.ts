import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import path from 'node:path';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterEach, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe } from './alerts-server.js';

/*
 * Whoever may post to the webhook (Alertmanager's credentials, or any local user on loopback)
 * sending many bodies of the largest size at once: the receiver holds a bounded number of bytes
 * of them, not all of them, so a flood cannot make it run out of memory and lose what it holds.
 */

const CONFIG = 'apiVersion: opsbook/v1\nkind: Config\nstateDir: .opsbook\n';
const MiB = 1024 * 1024;
const CONCURRENT = 40;

/** A valid version 4 body of `size` bytes: no alerts, and a field a newer Alertmanager might add. */
function largeBody(size: number): Buffer {
  const head = '{"version":"4","status":"firing","alerts":[],"padding":"';
  const tail = '"}';
  return Buffer.from(head + 'x'.repeat(size - head.length - tail.length) + tail);
}

/**
 * Posts `body` but its last byte, which it sends once `hold` resolves: until then the receiver
 * holds whatever it read of it.
 */
function post(url: string, body: Buffer, hold: Promise<unknown>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}alerts`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.write(body.subarray(0, -1));
    hold.then(() => req.end(body.subarray(-1)));
  });
}

async function peakRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
  if (!kb) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

describe('opsbook alerts serve under a flood of the largest bodies', () => {
  let temp: { dir: string; remove: () => Promise<void> } | undefined;
  let serve: ServeProcess | undefined;
  afterEach(async () => {
    if (serve && serve.child.exitCode === null) await serve.stop('SIGKILL');
    serve = undefined;
    await temp?.remove();
  });

  it(`holds a bounded number of bytes of ${CONCURRENT} concurrent 8 MiB posts, and answers each`, async () => {
    temp = await makeTempDir('opsbook-alerts-memory-');
    await writeFile(path.join(temp.dir, 'opsbook.yaml'), CONFIG);
    serve = await startServe(['--listen', '127.0.0.1:0'], { cwd: temp.dir });
    const pid = serve.child.pid!;
    const before = await peakRssBytes(pid);
    const body = largeBody(8 * MiB);
    const held = new Promise((r) => setTimeout(r, 3_000));
    const statuses = await Promise.all(
      Array.from({ length: CONCURRENT }, () => post(serve!.url, body, held)),
    );
    expect(statuses).toEqual(Array(CONCURRENT).fill(200));
    const grown = (await peakRssBytes(pid)) - before;
    // All read at once: 40 × 8 MiB of bodies held together (469 MiB measured before the bound).
    expect(grown / MiB, `peak RSS grew by ${Math.round(grown / MiB)} MiB`).toBeLessThan(250);
    expect(await serve.stop('SIGTERM')).toBe(0);
  }, 120_000);
});
