import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
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
  it('answers a post at once while six posts of --max-body each send a few bytes and stall (a slow sender holds only what it sent)', async () => {
    temp = await makeTempDir('opsbook-alerts-slow-');
    await writeFile(path.join(temp.dir, 'opsbook.yaml'), CONFIG);
    serve = await startServe(['--listen', '127.0.0.1:0', '--max-body', '64k'], { cwd: temp.dir });
    const { port } = new URL(serve.url);
    // Any local user on loopback: a declared body of --max-body, or a chunked one of no length,
    // a few bytes of it sent, the rest never.
    const stalled: Socket[] = [];
    for (let i = 0; i < 6; i++) {
      const socket = connect(Number(port), '127.0.0.1');
      socket.on('error', () => {});
      await new Promise<void>((r) => socket.once('connect', () => r()));
      const head =
        i % 2
          ? 'POST /alerts HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n1\r\n{\r\n'
          : `POST /alerts HTTP/1.1\r\nhost: x\r\ncontent-length: ${64 * 1024}\r\n\r\n{`;
      socket.write(head);
      stalled.push(socket);
    }
    try {
      // Alertmanager's post: it must not wait for the stalled ones to time out (60 s).
      const answered = post(serve.url, largeBody(1024), Promise.resolve());
      const outcome = await Promise.race([
        answered,
        new Promise((r) => setTimeout(() => r('still waiting after 20 s'), 20_000)),
      ]);
      expect(outcome).toBe(200);
      // The stalled posts were still open when it was answered: they did not time out first.
      expect(stalled.every((s) => !s.destroyed && s.readyState === 'open')).toBe(true);
    } finally {
      for (const s of stalled) s.destroy();
    }
    expect(await serve.stop('SIGTERM')).toBe(0);
  }, 60_000);
});
