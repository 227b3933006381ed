import { InterruptedError, isOpsbookError, type OpsbookError } from '@opsbook/schema';
import type { JiraConnection } from './jira-connection.js';
import { type FailureContext, jiraFailure, networkFailure, notJiraAnswer } from './jira-errors.js';
import {
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  type RetryPolicy,
  retryDelay,
  sleep,
} from './retry-policy.js';

/** Effects the HTTP layer uses, injectable so tests control time and randomness. */
export interface HttpEffects {
  fetch?: typeof fetch;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  random?: () => number;
}

export interface JiraHttpOptions {
  retry?: Partial<RetryPolicy>;
  /** Per attempt; default 30 s. */
  timeoutMs?: number;
  effects?: HttpEffects;
}

export interface JiraRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path after the base URL, e.g. `/rest/api/3/issue/OPS-1`. */
  path: string;
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  form?: FormData;
  /** Safe to send twice. GET and PUT are; a POST only when the caller says so. */
  idempotent?: boolean;
  /** Statuses the caller handles itself (e.g. 404 on a property read). */
  expect?: number[];
  context: FailureContext;
  signal?: AbortSignal | undefined;
  /**
   * Bytes the request uploads (an attachment): its timeout grows by one second for each
   * UPLOAD_BYTES_PER_SECOND of them, so that a large file on a slow link is not cut off after
   * the timeout meant for a request and its answer, at every flush of the outbox.
   */
  uploadBytes?: number;
}

/**
 * The slowest upload a request's timeout makes room for: 64 KiB/s (a 10 MiB journal gets 160 s
 * on top of the timeout).
 */
export const UPLOAD_BYTES_PER_SECOND = 64 * 1024;

/** The timeout of one attempt of a request uploading `bytes`, over `timeoutMs` for the rest. */
export function attemptTimeoutMs(timeoutMs: number, bytes = 0): number {
  return timeoutMs + Math.ceil((Math.max(0, bytes) / UPLOAD_BYTES_PER_SECOND) * 1000);
}

export interface JiraResponse {
  status: number;
  body: unknown;
}

/** The body: JSON parsed, or the text as it came when it is not JSON (`json: false`). */
async function readBody(res: Response): Promise<{ body: unknown; json: boolean }> {
  const text = await res.text();
  if (text === '') return { body: undefined, json: true };
  try {
    return { body: JSON.parse(text), json: true };
  } catch {
    return { body: text, json: false };
  }
}

/** Fetch with the one retry policy, per-attempt timeouts and person-readable errors. */
export class JiraHttp {
  readonly connection: JiraConnection;
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly fx: Required<HttpEffects>;
  /** The `Date` of Jira's last answer, and this process's monotonic time when it came. */
  private serverClock: { at: number; mono: number } | undefined;

  /** Jira's clock, as its last answer dated it, moved on since by the monotonic clock. */
  serverNow(): Date | undefined {
    const clock = this.serverClock;
    return clock && new Date(clock.at + (performance.now() - clock.mono));
  }

  /** Waits `ms` with the client's sleep (injected in tests), ending early on `signal`. */
  pause(ms: number, signal?: AbortSignal): Promise<void> {
    return this.fx.sleep(ms, signal);
  }

  constructor(connection: JiraConnection, options: JiraHttpOptions = {}) {
    this.connection = connection;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.timeoutMs = options.timeoutMs ?? 30_000;
    const fx = options.effects ?? {};
    this.fx = {
      fetch: fx.fetch ?? ((input, init) => fetch(input, init)),
      sleep: fx.sleep ?? sleep,
      now: fx.now ?? Date.now,
      random: fx.random ?? Math.random,
    };
  }

  url(path: string): string {
    return `${this.connection.baseUrl}${path}`;
  }

  private init(req: JiraRequest, signal: AbortSignal): RequestInit {
    const headers: Record<string, string> = {
      Accept: 'application/json',
      Authorization: this.connection.authorization,
    };
    let body: RequestInit['body'];
    if (req.form) {
      // Jira blocks multipart uploads without this header (XSRF check); fetch sets the boundary.
      headers['X-Atlassian-Token'] = 'no-check';
      body = req.form;
    } else if (req.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(req.json);
    }
    return {
      method: req.method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal,
      // Jira's REST API does not redirect: one is a proxy, a sign-in page or another address,
      // said as such (notJiraAnswer) rather than followed with the credentials.
      redirect: 'manual',
    };
  }

  async send(req: JiraRequest): Promise<JiraResponse> {
    const target = new URL(this.url(req.path));
    for (const [k, v] of Object.entries(req.query ?? {}))
      if (v !== undefined) target.searchParams.set(k, String(v));
    const shownUrl = this.url(req.path);
    const idempotent = req.idempotent ?? req.method !== 'POST';
    const facts = {
      url: shownUrl,
      attempts: 0,
      credentialHint: this.connection.credentialHint,
      secrets: this.connection.secrets,
    };
    for (let attempt = 1; attempt <= this.policy.maxAttempts; attempt++) {
      facts.attempts = attempt;
      if (req.signal?.aborted) throw new InterruptedError();
      const timeoutMs = attemptTimeoutMs(this.timeoutMs, req.uploadBytes);
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
      let failure: OpsbookError;
      let waitMs: number | undefined;
      let lastBody: unknown;
      try {
        const res = await this.fx.fetch(target, this.init(req, signal));
        const dated = Date.parse(res.headers.get('date') ?? '');
        if (Number.isFinite(dated)) this.serverClock = { at: dated, mono: performance.now() };
        const { body, json } = await readBody(res);
        // Every answer of Jira's REST API with a body is JSON: a page is a proxy or a sign-in.
        const redirect = res.status >= 300 && res.status < 400;
        if ((res.ok && !json) || redirect)
          throw notJiraAnswer(req.context, {
            ...facts,
            status: res.status,
            body,
            contentType: res.headers.get('content-type'),
            location: redirect ? (res.headers.get('location') ?? '') : undefined,
          });
        if (res.ok || req.expect?.includes(res.status)) return { status: res.status, body };
        lastBody = body;
        failure = jiraFailure(req.context, { ...facts, status: res.status, body });
        waitMs = parseRetryAfter(res.headers.get('retry-after'), this.fx.now());
        // 429 means Jira did not process the request, so even a non-idempotent write may be
        // resent; so does a 503 with Retry-After (Atlassian: "a resource limit has been reached",
        // handled like a rate limit). 409 is a conflicting update that went in first, which a
        // request safe to send twice waits out.
        const notProcessed = res.status === 429 || (res.status === 503 && waitMs !== undefined);
        const retryable = notProcessed || ((res.status >= 500 || res.status === 409) && idempotent);
        if (!retryable) throw failure;
      } catch (e) {
        if (isOpsbookError(e)) throw e;
        if (req.signal?.aborted) throw new InterruptedError();
        failure = networkFailure(req.context, facts, e, timeout.aborted, timeoutMs);
        // A refused connection never reached Jira; anything else might have been processed.
        if (!idempotent && !failure.details.connectionRefused) throw failure;
      }
      if (attempt === this.policy.maxAttempts) throw failure;
      // The server's own wish is what is compared (Retry-After: 60 is waited for), not the jitter.
      if (waitMs !== undefined && waitMs > this.policy.maxRetryAfterMs)
        throw jiraFailure(req.context, {
          ...facts,
          status: failure.details.status as number,
          body: lastBody,
          retryAfter: { askedMs: waitMs, maxMs: this.policy.maxRetryAfterMs },
        });
      const delay = retryDelay(attempt, this.policy, this.fx.random, waitMs);
      await this.fx.sleep(delay, req.signal).catch(() => {
        throw new InterruptedError();
      });
    }
    throw new Error('unreachable: retry loop exited without a result');
  }
}
