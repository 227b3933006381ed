import { createServer, type Server, type Socket } from 'node:net';
import { InterruptedError } from '@opsbook/schema';
import { afterEach, describe, expect, it } from 'vitest';
import { BANNER_SLOTS, BannerSlots, bannerSlots, openBannerTimedSocket } from './banner-socket.js';

/**
 * An overloaded sshd: it accepts every connection at once (the kernel's backlog does) but
 * answers them one at a time, a banner every `everyMs`, in the order they came. Notes the most
 * connections ever waiting for their banner at once.
 */
async function slowSshd(everyMs: number) {
  const waiting: Socket[] = [];
  const stats = { mostWaiting: 0, answered: 0 };
  const server: Server = createServer((socket) => {
    socket.on('error', () => {});
    waiting.push(socket);
    stats.mostWaiting = Math.max(stats.mostWaiting, waiting.length);
  });
  const timer = setInterval(() => {
    const next = waiting.shift();
    if (!next) return;
    stats.answered++;
    next.end('SSH-2.0-OpenSSH_9.2p1 slow\r\n');
  }, everyMs);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    stats,
    close: () => {
      clearInterval(timer);
      for (const s of waiting) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Opens `n` connections at once; each ends with its banner or its error. */
function connectAll(port: number, n: number, connectMs: number, slots: BannerSlots) {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const socket = await openBannerTimedSocket('127.0.0.1', port, connectMs, {
        aborted: () => new InterruptedError('cancelled'),
        slots,
      });
      return new Promise<string>((resolve) => {
        let banner = '';
        socket.on('data', (d: Buffer) => {
          banner += d.toString('latin1');
        });
        socket.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
        socket.on('close', () => resolve(banner.startsWith('SSH-2.0-') ? 'banner' : 'closed'));
      });
    }),
  );
}

function tally(outcomes: string[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const o of outcomes) t[o] = (t[o] ?? 0) + 1;
  return t;
}

describe('openBannerTimedSocket', () => {
  let sshd: Awaited<ReturnType<typeof slowSshd>> | undefined;
  afterEach(async () => {
    await sshd?.close();
    sshd = undefined;
  });

  it('answers 150 connections to a server that answers one every 20 ms, none timed out, at most 8 waiting at once', async () => {
    sshd = await slowSshd(20);
    const outcomes = await connectAll(sshd.port, 150, 2_500, new BannerSlots(8));
    expect(tally(outcomes)).toEqual({ banner: 150 });
    expect(sshd.stats.mostWaiting).toBeLessThanOrEqual(8);
  });

  it('times the last of them out when every connection waits from the start (what the slots prevent)', async () => {
    sshd = await slowSshd(20);
    // 150 slots: no connection waits for one, so the 150th banner, ~3 s in, comes after 2.5 s.
    const outcomes = await connectAll(sshd.port, 150, 2_500, new BannerSlots(150));
    expect(tally(outcomes)['error ETIMEDOUT']).toBeGreaterThan(0);
    expect(sshd.stats.mostWaiting).toBeGreaterThan(100);
  });

  it('gives a slot back when the connection is refused', async () => {
    const slots = new BannerSlots(1);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const outcomes = await connectAll(port, 3, 2_500, slots);
    expect(tally(outcomes)).toEqual({ 'error ECONNREFUSED': 3 });
    // The one slot went round three times and is free again.
    const release = await slots.take(undefined, () => new Error('unexpected'));
    release();
    expect(slots.queued).toBe(0);
  });

  it('shares the process-wide slots by default', () => {
    expect(bannerSlots.size).toBe(BANNER_SLOTS);
  });
});

describe('BannerSlots', () => {
  it('hands slots out in the order asked, each freed once however often it is given back', async () => {
    const slots = new BannerSlots(1);
    const never = () => new Error('unexpected');
    const first = await slots.take(undefined, never);
    const order: string[] = [];
    const noted = (name: string) => (release: () => void) => {
      order.push(name);
      return release;
    };
    const second = slots.take(undefined, never).then(noted('second'));
    const third = slots.take(undefined, never).then(noted('third'));
    expect(slots.queued).toBe(2);
    first();
    first();
    const releaseSecond = await second;
    expect(order).toEqual(['second']);
    expect(slots.queued).toBe(1);
    releaseSecond();
    (await third)();
    expect(order).toEqual(['second', 'third']);
    expect(slots.queued).toBe(0);
  });

  it('rejects a waiter whose signal aborts and leaves its place to the next', async () => {
    const slots = new BannerSlots(1);
    const never = () => new Error('unexpected');
    const held = await slots.take(undefined, never);
    const stop = new AbortController();
    const cancelled = slots.take(stop.signal, () => new InterruptedError('cancelled while queued'));
    const next = slots.take(undefined, never);
    stop.abort();
    await expect(cancelled).rejects.toThrow('cancelled while queued');
    expect(slots.queued).toBe(1);
    held();
    (await next)();
    expect(slots.queued).toBe(0);
    const already = new AbortController();
    already.abort();
    await expect(slots.take(already.signal, () => new InterruptedError('late'))).rejects.toThrow(
      'late',
    );
  });
});
