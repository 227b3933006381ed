import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { isOpsbookError, ValidationError } from '@opsbook/schema';
import { type AlertRecord, parseWebhookBody } from './alert.js';
import { AlertIntake, type IntakeResult } from './alert-intake.js';
import type { AlertStore } from './alert-store.js';
import { alertsErrors } from './error-codes.js';
import { challengeOf, isAuthorized, type ReceiverAuth } from './receiver-auth.js';

/** What the receiver did with one request, for the log (never a header or a body). */
export type ReceiverEvent =
  | { type: 'accepted'; from: string; alerts: number; accepted: number; duplicates: number }
  | { type: 'refused'; from: string; status: number; reason: string }
  | { type: 'store-failed'; from: string; message: string };

export interface AlertReceiverOptions {
  store: AlertStore;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port; 0 (the default) picks a free one: read it from `url`. */
  port?: number;
  auth?: ReceiverAuth;
  /** Largest body accepted (default 8 MiB); larger ones get 413. */
  maxBodyBytes?: number;
  /**
   * Bytes of request bodies read and held at once (default four of the largest), counted as they
   * arrive: a request past it waits, the rest of its body unread, until earlier ones are stored or
   * refused; the oldest request open never waits (HeldBytes).
   */
  maxHeldBytes?: number;
  /** Told of every request's outcome. */
  onEvent?: (event: ReceiverEvent) => void;
  /** Called after alerts were stored (to start a convergence pass). */
  onStored?: (result: IntakeResult) => void;
  /** Alerts received this long ago are remembered for dedupe at start (default 24h). */
  warmMs?: number;
  now?: () => Date;
}

export interface AlertReceiver {
  /** `http://HOST:PORT/`: Alertmanager's webhook_configs url. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Stops taking connections, lets requests in flight finish (their alerts stored), and resolves. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
/** The paths Alertmanager may post to: `url: http://HOST:PORT/` or `…/alerts`. */
const WEBHOOK_PATHS = new Set(['/', '/alerts']);

class BodyTooLarge extends Error {}

/**
 * Bytes of bodies in memory, shared by every request: a flood of the largest bodies (whoever
 * holds the webhook's credentials, or any local user on loopback) is read a few at a time, the
 * rest waiting in the kernel's socket buffers, instead of all at once until the heap runs out.
 * What a request holds is what it has sent, counted as it arrives, not the size it declares: a
 * post that sends a few bytes and stalls (or declares --max-body, or no length) keeps no other
 * waiting. The oldest request still open never waits, so one always finishes and frees its bytes
 * (at most the limit and one --max-body are held); a request that would pass the limit otherwise
 * waits, unread, until an earlier one is stored or refused.
 */
class HeldBytes {
  private held = 0;
  /** The requests whose bytes are held, oldest first. */
  private readonly readers = new Set<object>();
  private readonly waiting: Array<{ reader: object; bytes: number; go: () => void }> = [];
  constructor(private readonly limit: number) {}

  /** A request's account: take() before holding a chunk of its body, close() once it is done. */
  open(): BodyAccount {
    const reader = {};
    this.readers.add(reader);
    let mine = 0;
    let closed = false;
    return {
      take: async (bytes: number) => {
        if (this.mayHold(reader, bytes)) this.held += bytes;
        else await new Promise<void>((go) => this.waiting.push({ reader, bytes, go }));
        mine += bytes;
      },
      close: () => {
        if (closed) return;
        closed = true;
        this.readers.delete(reader);
        this.held -= mine;
        this.wake();
      },
    };
  }

  private mayHold(reader: object, bytes: number): boolean {
    return this.held + bytes <= this.limit || this.readers.values().next().value === reader;
  }

  private wake(): void {
    for (let i = 0; i < this.waiting.length; ) {
      const next = this.waiting[i]!;
      if (!this.readers.has(next.reader)) this.waiting.splice(i, 1);
      else if (this.mayHold(next.reader, next.bytes)) {
        this.waiting.splice(i, 1);
        this.held += next.bytes;
        next.go();
      } else i++;
    }
  }
}

interface BodyAccount {
  take(bytes: number): Promise<void>;
  close(): void;
}

/** Why an address cannot be listened on, by errno: the user's or the machine's to fix, not a bug. */
const listenRefusals: Record<string, string> = {
  EADDRINUSE:
    'another process listens there (EADDRINUSE): stop it, or give another --listen (ss -ltnp names the process)',
  EACCES:
    'ports below 1024 need root or CAP_NET_BIND_SERVICE (EACCES): give a port from 1024 up in --listen',
  EADDRNOTAVAIL:
    "the address is not one of this machine's (EADDRNOTAVAIL): give one of its addresses in --listen",
};

function listenError(e: Error, host: string, port: number): Error {
  const errno = (e as NodeJS.ErrnoException).code;
  const why = errno === undefined ? undefined : listenRefusals[errno];
  if (!why) return e;
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new alertsErrors.OpsbookError(
    'invalid',
    'LISTEN_UNAVAILABLE',
    `cannot listen on ${address}: ${why}`,
    { host, port, errno },
    { cause: e },
  );
}

async function readBody(req: IncomingMessage, max: number, held: BodyAccount): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw new BodyTooLarge();
    // Awaited before the next chunk is read: past the limit, the rest stays in the socket.
    await held.take((chunk as Buffer).length);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

function reply(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * Alertmanager's webhook receiver (`opsbook alerts serve`, and in-process for benchmarks):
 * every accepted alert is durable in `store` before the 200; a body that is not a version 4
 * payload gets 400, one past `maxBodyBytes` 413, wrong credentials 401, and a store that fails
 * 503: none of its alerts is kept or remembered, so Alertmanager's retry (of a 5xx) stores them.
 * Nothing a client sends ends it. An address it cannot listen on is LISTEN_UNAVAILABLE.
 */
export async function startAlertReceiver(options: AlertReceiverOptions): Promise<AlertReceiver> {
  const intake = new AlertIntake(options.store);
  await intake.warm(
    new Date((options.now?.() ?? new Date()).getTime() - (options.warmMs ?? 86_400_000)),
  );
  const max = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const heldBytes = new HeldBytes(Math.max(options.maxHeldBytes ?? 4 * max, max));
  const now = options.now ?? (() => new Date());
  const emit = options.onEvent ?? (() => undefined);
  const inFlight = new Set<Promise<void>>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const from = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const refuse = (status: number, reason: string, headers: Record<string, string> = {}) => {
      emit({ type: 'refused', from, status, reason });
      reply(res, status, { error: reason }, headers);
    };
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && path === '/healthz') {
      reply(res, 200, { ok: true });
      return;
    }
    if (!WEBHOOK_PATHS.has(path)) return refuse(404, `no such path ${path}: post to / or /alerts`);
    if (req.method !== 'POST')
      return refuse(405, `${req.method} is not allowed: Alertmanager posts`, { allow: 'POST' });
    if (!isAuthorized(req.headers.authorization, options.auth))
      return refuse(401, 'missing or wrong credentials', {
        'www-authenticate': challengeOf(options.auth!),
      });
    const held = heldBytes.open();
    try {
      return await receive(req, res, from, refuse, held);
    } finally {
      held.close();
    }
  };

  /** Reads, checks and stores the body of an authorized post. */
  const receive = async (
    req: IncomingMessage,
    res: ServerResponse,
    from: string,
    refuse: (status: number, reason: string, headers?: Record<string, string>) => void,
    held: BodyAccount,
  ): Promise<void> => {
    let body: Buffer;
    try {
      body = await readBody(req, max, held);
    } catch (e) {
      if (e instanceof BodyTooLarge)
        // Alertmanager drops a notification answered 4xx: its sender must hear what to change.
        return refuse(
          413,
          `body larger than ${max} bytes (--max-body): Alertmanager does not send it again; give --max-body room for its largest group (docs/alerts.md)`,
          { connection: 'close' },
        );
      throw e;
    }
    let records: AlertRecord[];
    try {
      records = parseWebhookBody(body, now(), `request from ${from}`);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      const first = e.problems[0];
      return refuse(400, first ? first.message : e.message);
    }
    const alerts = records.length;
    let result: IntakeResult;
    try {
      result = await intake.accept(records);
    } catch (e) {
      // Whatever the store threw, a refusal of a batch behind a failed one too: a 4xx would
      // tell Alertmanager to drop alerts that were never stored.
      const message = isOpsbookError(e) || e instanceof Error ? e.message : String(e);
      emit({ type: 'store-failed', from, message });
      reply(res, 503, { error: 'the alerts could not be stored; retry' }, { 'retry-after': '5' });
      return;
    }
    emit({ type: 'accepted', from, alerts, ...result });
    reply(res, 200, result);
    if (result.accepted > 0) options.onStored?.(result);
  };

  const server = createServer({ requestTimeout: 60_000, headersTimeout: 30_000 }, (req, res) => {
    const done = handle(req, res)
      .catch((e: unknown) => {
        // A bug, not the client's doing: answered, logged, and the receiver goes on.
        const message = e instanceof Error ? e.message : String(e);
        emit({ type: 'store-failed', from: req.socket.remoteAddress ?? '?', message });
        if (!res.headersSent) reply(res, 500, { error: 'internal error' });
        else res.destroy();
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  });
  server.keepAliveTimeout = 65_000; // longer than Alertmanager's idle connections
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('clientError', (_e, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  await new Promise<void>((resolve, reject) => {
    const refused = (e: Error) => reject(listenError(e, host, port));
    server.once('error', refused);
    server.listen(port, host, () => {
      server.off('error', refused);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}/`,
    host: address.address,
    port: address.port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.all([...inFlight]);
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
