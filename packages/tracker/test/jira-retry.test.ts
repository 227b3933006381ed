import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJiraTracker, type JiraTracker, textDoc } from '../src/index.js';
import { attemptTimeoutMs } from '../src/jira-http.js';

const NOW = Date.parse('2026-03-02T10:00:00Z');

describe.each(['cloud', 'datacenter'] as const)('Jira %s retry policy', (flavour) => {
  let fake: JiraFake;
  let jira: JiraTracker;
  let waits: number[];

  beforeEach(async () => {
    fake = await startJiraFake({ flavour });
    waits = [];
    // Injected clock and sleep: the test controls time, nothing waits on the wall clock.
    const effects = {
      now: () => NOW,
      random: () => 0.5,
      sleep: async (ms: number) => void waits.push(ms),
    };
    jira = createJiraTracker({ project: 'OPS', flavour }, fake.env, { effects, timeoutMs: 30_000 });
    await jira.create({ summary: 'retry target' });
  });

  afterEach(async () => {
    await fake.closeExpectingNone();
  });

  it('waits the seconds a 429 Retry-After asks for, plus jitter, then succeeds', async () => {
    fake.inject({ fault: { kind: 'status', status: 429, retryAfter: '7' }, path: '/issue/OPS-1' });
    expect((await jira.get('OPS-1')).summary).toBe('retry target');
    expect(waits).toEqual([7000 + 250]);
  });

  it('honours a Retry-After given as an HTTP-date', async () => {
    fake.inject({
      fault: { kind: 'status', status: 429, retryAfter: 'Mon, 02 Mar 2026 10:00:12 GMT' },
      path: '/issue/OPS-1',
    });
    await jira.get('OPS-1');
    expect(waits).toEqual([12_000 + 250]);
  });

  it('retries a 503 with Retry-After, even for a comment (429/503 before processing)', async () => {
    fake.inject({ fault: { kind: 'status', status: 503, retryAfter: '3' }, method: 'get' });
    await jira.get('OPS-1');
    expect(waits).toEqual([3250]);
    fake.inject({
      fault: { kind: 'status', status: 503, retryAfter: '2' },
      method: 'post',
      path: '/comment',
    });
    await jira.comment('OPS-1', textDoc('once'));
    expect(fake.issue('OPS-1')?.comments).toHaveLength(1);
    expect(waits).toEqual([3250, 2250]);
  });

  it('does not resend a comment after a 503 without Retry-After: Jira may have taken it', async () => {
    fake.inject({ fault: { kind: 'status', status: 503 }, method: 'post', path: '/comment' });
    await expect(jira.comment('OPS-1', textDoc('maybe'))).rejects.toMatchObject({
      details: { status: 503 },
    });
    expect(waits).toEqual([]);
  });

  it('retries a 429 on a non-idempotent write, since Jira did not process it', async () => {
    fake.inject({
      fault: { kind: 'status', status: 429, retryAfter: '1' },
      method: 'post',
      path: '/comment',
    });
    await jira.comment('OPS-1', textDoc('once'));
    expect(fake.issue('OPS-1')?.comments).toHaveLength(1);
    expect(waits).toEqual([1250]);
  });

  it('backs off exponentially without Retry-After on GETs', async () => {
    fake.inject({ fault: { kind: 'status', status: 500 }, times: 3, method: 'get' });
    await jira.get('OPS-1');
    expect(waits).toEqual([250, 500, 1000]);
  });

  it('does not resend a comment after a 500: the outcome is unknown', async () => {
    fake.inject({ fault: { kind: 'status', status: 500 }, method: 'post', path: '/comment' });
    await expect(jira.comment('OPS-1', textDoc('maybe'))).rejects.toMatchObject({
      code: 'TRACKER_UNAVAILABLE',
      details: { retryable: true },
    });
    expect(waits).toEqual([]);
    expect(fake.requests().filter((r) => r.path.endsWith('/comment'))).toHaveLength(1);
  });

  it('gives up after the last attempt with a sentence that names the outbox', async () => {
    fake.inject({ fault: { kind: 'status', status: 503 }, times: 10, method: 'get' });
    const error = await jira.get('OPS-1').catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'unreachable', code: 'TRACKER_UNAVAILABLE' });
    expect((error as Error).message).toContain('failed with 503 after 4 attempt(s) to read OPS-1');
    expect(waits).toHaveLength(3);
  });

  it('waits for a Retry-After of exactly the policy limit (60 s), jitter on top', async () => {
    fake.inject({ fault: { kind: 'status', status: 429, retryAfter: '60' }, path: '/issue/OPS-1' });
    expect((await jira.get('OPS-1')).key).toBe('OPS-1');
    expect(waits).toEqual([60_000 + 250]);
  });

  it('does not wait for a Retry-After longer than the policy allows', async () => {
    fake.inject({ fault: { kind: 'status', status: 429, retryAfter: '3600' }, method: 'get' });
    const error = await jira.get('OPS-1').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TRACKER_RATE_LIMITED', details: { retryable: true } });
    expect((error as Error).message).toBe(
      `Jira at ${fake.baseUrl}${jira.issuePath('OPS-1')} answered 429 Too Many Requests when trying to read OPS-1 and asked to wait 3600 s (Retry-After), longer than opsbook waits (60 s): try again later; writes wait in the outbox (opsbook outbox flush).`,
    );
    expect(waits).toEqual([]);
  });

  it('retries a GET after a connection reset', async () => {
    fake.inject({ fault: { kind: 'reset' }, method: 'get' });
    expect((await jira.get('OPS-1')).key).toBe('OPS-1');
    expect(waits).toHaveLength(1);
  });

  it('times out a hanging Jira with an AbortSignal and says so', async () => {
    fake.inject({ fault: { kind: 'hang' }, times: 10, method: 'get' });
    const quick = createJiraTracker({ project: 'OPS', flavour }, fake.env, {
      timeoutMs: 150,
      retry: { maxAttempts: 2 },
      effects: { sleep: async () => undefined },
    });
    await expect(quick.get('OPS-1')).rejects.toMatchObject({
      code: 'TRACKER_TIMEOUT',
      details: { retryable: true },
    });
  });

  it("gives an attachment's upload a second more for each 64 KiB, on top of the timeout", async () => {
    await jira.create({ summary: 'large journal' });
    fake.inject({ fault: { kind: 'hang' }, times: 1, method: 'post', path: '/attachments' });
    const quick = createJiraTracker({ project: 'OPS', flavour }, fake.env, {
      timeoutMs: 150,
      effects: { sleep: async () => undefined },
    });
    const bytes = new Uint8Array(2 * 64 * 1024);
    const error = await quick
      .attach('OPS-1', { filename: 'journal.jsonl', bytes })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TRACKER_TIMEOUT' });
    expect((error as Error).message).toContain('did not answer within 2150 ms');
    // A request that uploads nothing keeps the timeout as configured.
    expect(attemptTimeoutMs(150)).toBe(150);
    expect(attemptTimeoutMs(30_000, 10 * 1024 * 1024)).toBe(190_000);
  });

  it('reports a Jira that is down as unreachable', async () => {
    await fake.down();
    const error = await jira.get('OPS-1').catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'unreachable', code: 'TRACKER_UNREACHABLE' });
    expect((error as Error).message).toContain('(ECONNREFUSED)');
  });

  it('stops at once when the caller aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(jira.get('OPS-1', { signal: controller.signal })).rejects.toMatchObject({
      kind: 'interrupted',
    });
  });
});
