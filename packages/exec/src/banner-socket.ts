import { Socket } from 'node:net';

/**
 * How many of a process's SSH connections may wait for their server's banner at once. The
 * connect timeout (OpenSSH's ConnectTimeout: the TCP connect and the banner) starts when a
 * connection gets one of these slots, not when its host's turn in the run came: a server that
 * accepts faster than it answers (an sshd busy forking its sessions, a bastion, one sshd behind
 * many names) answers at most this many at a time, so none waits behind hundreds of others and
 * times out spuriously. 200 connections at once to one sshd on two loaded cores lost 5–20 of 200
 * hosts to the 10 s limit (BENCHMARKS.md, fan-out). A slot is held from the TCP connect until the
 * server's first bytes (the TCP connect and the banner, about 1.5 round trips, and the server's
 * fork) or the socket's end, so it costs nothing where servers answer at once: 64 slots admit
 * ~200 new connections a second at a 200 ms round trip. A host that never answers holds one for
 * the connect timeout.
 */
export const BANNER_SLOTS = 64;

/** A counting semaphore whose slots go to the waiters in order. */
export class BannerSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    this.free = size;
  }

  /** How many connections wait for a slot now. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * A slot, once one is free (in the order asked); resolves to the function that gives it back
   * (only its first call counts). Rejects with `aborted()` if `signal` aborts meanwhile.
   */
  take(signal: AbortSignal | undefined, aborted: () => Error): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(aborted());
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(this.giveBack());
    }
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.giveBack());
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(wake);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(aborted());
      };
      this.waiting.push(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private giveBack(): () => void {
    let given = false;
    return () => {
      if (given) return;
      given = true;
      // Handed straight to the next waiter, so no later taker can jump the queue.
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

/** The process's slots: every SSH connection it opens shares them. */
export const bannerSlots = new BannerSlots(BANNER_SLOTS);

/** A TCP socket that tells `onFirstEvent` once, at its first bytes received or its close. */
class BannerWatchedSocket extends Socket {
  onFirstEvent: (() => void) | undefined;

  // emit, not a listener: a 'data' listener of our own would switch the socket to flowing mode
  // before ssh2 reads it.
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'data' || event === 'close') {
      const first = this.onFirstEvent;
      this.onFirstEvent = undefined;
      first?.();
    }
    return super.emit(event, ...args);
  }
}

export interface BannerTimedSocketOptions {
  signal?: AbortSignal | undefined;
  /** The error when `signal` aborts while waiting for a slot. */
  aborted: () => Error;
  /** Default: the process's `bannerSlots`. */
  slots?: BannerSlots;
}

/**
 * A TCP connection to the host whose first `connectMs` are OpenSSH's ConnectTimeout: unless the
 * server has sent its first bytes (the SSH banner) by then, the socket is destroyed with an
 * ETIMEDOUT error, which ssh2 reports as the client's error. Opened once a banner slot is free
 * (BANNER_SLOTS); the time spent waiting for it does not count.
 */
export async function openBannerTimedSocket(
  host: string,
  port: number,
  connectMs: number,
  options: BannerTimedSocketOptions,
): Promise<Socket> {
  const release = await (options.slots ?? bannerSlots).take(options.signal, options.aborted);
  const socket = new BannerWatchedSocket();
  socket.onFirstEvent = release;
  socket.connect({ host, port });
  // Steps are small request/response exchanges: without TCP_NODELAY, Nagle's algorithm and
  // the peer's delayed ACK hold a channel request back for tens of milliseconds
  // (BENCHMARKS.md, fan-out).
  socket.setNoDelay(true);
  // No listener of our own: ssh2 reads the socket from its 'connect' on, and a 'data' listener
  // here would switch it to flowing mode before that. Whether the banner came is in bytesRead.
  const timer = setTimeout(() => {
    if (socket.bytesRead > 0 || socket.destroyed) return;
    socket.destroy(
      Object.assign(new Error(`no SSH banner within ${connectMs} ms`), { code: 'ETIMEDOUT' }),
    );
  }, connectMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  return socket;
}
