import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJiraTracker, type JiraTracker, Outbox, textDoc } from '../src/index.js';

describe.each(['cloud', 'datacenter'] as const)('outbox delivering to Jira %s', (flavour) => {
  let fake: JiraFake;
  let jira: JiraTracker;
  let stateDir: string;
  let outbox: Outbox;

  beforeEach(async () => {
    fake = await startJiraFake({ flavour });
    stateDir = await mkdtemp(path.join(tmpdir(), 'opsbook-outbox-'));
    jira = createJiraTracker({ project: 'OPS', flavour }, fake.env, {
      effects: { sleep: async () => undefined },
      timeoutMs: 2000,
    });
    outbox = new Outbox({ stateDir, tracker: jira });
  });

  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
    await fake.closeExpectingNone();
  });

  it('keeps every write while Jira is down and delivers each exactly once, in order, after', async () => {
    await jira.create({ summary: 'existing' });
    await fake.down();
    const results = [
      await outbox.send('OPS-1', { kind: 'transition', status: 'Awaiting Approval' }),
      await outbox.send('OPS-1', { kind: 'comment', body: textDoc('plan attached') }),
      await outbox.send(
        'OPS-1',
        { kind: 'attach', filename: 'plan.json' },
        new TextEncoder().encode('{"plan":1}'),
      ),
      await outbox.send('OPS-1', { kind: 'transition', status: 'Approved' }),
      await outbox.send('', {
        kind: 'create',
        ticket: { summary: 'Inspection found disk 93% on db-4' },
      }),
    ];
    expect(results.map((r) => r.delivered)).toEqual([false, false, false, false, false]);
    expect(results[0]).toMatchObject({ error: { code: 'TRACKER_UNREACHABLE' } });
    expect((await outbox.list()).map((e) => e.write.kind)).toEqual([
      'transition',
      'comment',
      'attach',
      'transition',
      'create',
    ]);

    await fake.up();
    const report = await outbox.flush();
    expect(report.pending).toEqual([]);
    expect(report.failed).toEqual([]);
    expect(report.delivered.map((d) => `${d.key} ${d.entry.write.kind}`)).toEqual([
      'OPS-1 transition',
      'OPS-1 comment',
      'OPS-1 attach',
      'OPS-1 transition',
      'OPS-2 create',
    ]);
    const issue = fake.issue('OPS-1')!;
    expect(issue.comments).toHaveLength(1);
    expect(issue.attachments.map((a) => a.filename)).toEqual(['plan.json']);
    expect(issue.history.map((h) => h.to)).toEqual(['awaitingApproval', 'approved']);
    expect(await outbox.list()).toEqual([]);
    expect((await outbox.flush()).delivered).toEqual([]);
    expect(fake.issues()).toHaveLength(2);
  });

  it('queues writes given together in their order, beside another writer queuing at the same time', async () => {
    await jira.create({ summary: 'together' });
    const other = new Outbox({ stateDir, tracker: jira });
    const ours = [
      { write: { kind: 'comment' as const, body: textDoc('run summary') } },
      {
        write: { kind: 'attach' as const, filename: 'journal.jsonl' },
        bytes: new TextEncoder().encode('{}\n'),
      },
      { write: { kind: 'transition' as const, status: 'Awaiting Approval' } },
    ];
    const theirs = ours.map(() => ({
      write: { kind: 'setProperty' as const, property: 'other', value: 1 },
    }));
    await Promise.all([outbox.enqueueAll('OPS-1', ours), other.enqueueAll('OPS-1', theirs)]);
    const queued = await outbox.list();
    expect(queued).toHaveLength(6);
    expect(queued.filter((e) => e.write.kind !== 'setProperty').map((e) => e.write.kind)).toEqual([
      'comment',
      'attach',
      'transition',
    ]);
    const report = await outbox.flush();
    expect(report.delivered).toHaveLength(6);
    expect(fake.issue('OPS-1')!.attachments.map((a) => a.filename)).toEqual(['journal.jsonl']);
  });

  it('keeps the count of failed attempts of every write, idempotent ones included', async () => {
    await jira.create({ summary: 'attempts' });
    await jira.create({ summary: 'attempts too' });
    await fake.down();
    await outbox.send('OPS-1', { kind: 'transition', status: 'Awaiting Approval' });
    await outbox.send('OPS-2', { kind: 'comment', body: textDoc('evidence') });
    await outbox.flush();
    expect((await outbox.list()).map((e) => [e.write.kind, e.attempts, e.lastError?.code])).toEqual(
      [
        ['transition', 2, 'TRACKER_UNREACHABLE'],
        // Attempted once: the flush's probe (was it delivered before?) found Jira down first.
        ['comment', 1, 'TRACKER_UNREACHABLE'],
      ],
    );
    await fake.up();
    expect((await outbox.flush()).delivered.map((d) => d.entry.attempts)).toEqual([3, 2]);
  });

  it('does not post a comment twice when Jira applied it but the answer was lost', async () => {
    await jira.create({ summary: 'lost answer' });
    fake.inject({
      fault: { kind: 'reset' },
      method: 'post',
      path: '/comment',
      afterHandling: true,
    });
    const first = await outbox.send('OPS-1', { kind: 'comment', body: textDoc('run finished') });
    expect(first.delivered).toBe(false);
    expect(fake.issue('OPS-1')?.comments).toHaveLength(1);
    const report = await outbox.flush();
    expect(report.delivered).toHaveLength(1);
    expect(fake.issue('OPS-1')?.comments).toHaveLength(1);
  });

  it('does not post a comment twice when the answer was lost and 25 comments followed it (no expand=properties)', async () => {
    let clock = Date.parse('2026-12-05T10:00:00Z');
    const now = () => new Date(clock);
    const strict = await startJiraFake({ flavour, now, expandsCommentProperties: false });
    const busy = await mkdtemp(path.join(tmpdir(), 'opsbook-outbox-'));
    try {
      const client = createJiraTracker({ project: 'OPS', flavour }, strict.env, {
        effects: { sleep: async () => undefined },
        timeoutMs: 2000,
      });
      const queue = new Outbox({ stateDir: busy, tracker: client, now });
      await client.create({ summary: 'busy alert ticket' });
      strict.inject({
        fault: { kind: 'reset' },
        method: 'post',
        path: '/comment',
        afterHandling: true,
      });
      const first = await queue.send('OPS-1', { kind: 'comment', body: textDoc('run finished') });
      expect(first.delivered).toBe(false);
      // Alert batches land on the ticket before the outbox flushes again.
      for (let i = 0; i < 25; i++) {
        clock += 60_000;
        await client.comment('OPS-1', textDoc(`alert batch ${i}`));
      }
      const report = await queue.flush();
      expect(report.delivered).toHaveLength(1);
      expect(strict.issue('OPS-1')?.comments).toHaveLength(26);
      expect(strict.violations()).toEqual([]);
    } finally {
      await strict.close();
      await rm(busy, { recursive: true, force: true });
    }
  });

  it('neither posts again nor calls absent a comment that may be among the older comments of a ticket past 5,000, and posts it once when told to', async () => {
    await jira.create({ summary: 'busy ticket' });
    fake.inject({ fault: { kind: 'reset' }, method: 'post', path: '/comment' });
    const first = await outbox.send('OPS-1', { kind: 'comment', body: textDoc('run finished') });
    expect(first.delivered).toBe(false);
    // 5,150 comments land on the ticket before the outbox tries again.
    const issue = fake.issue('OPS-1')!;
    fake.seedComments('OPS-1', 5150, { from: new Date(), firstId: 30000 });
    const unsure = await outbox.flush();
    expect(unsure.delivered).toEqual([]);
    expect(unsure.failed.map((e) => e.lastError?.code)).toEqual(['TRACKER_DELIVERY_UNCERTAIN']);
    expect(unsure.failed[0]?.lastError?.message).toMatch(/--retry-failed/);
    expect(issue.comments).toHaveLength(5150);
    // A plain flush leaves it for a person; --retry-failed (they looked: it is not there) posts it.
    expect((await outbox.flush()).failed).toHaveLength(1);
    expect(issue.comments).toHaveLength(5150);
    const told = await outbox.flush({ retryFailed: true });
    expect(told.delivered).toHaveLength(1);
    expect(issue.comments).toHaveLength(5151);
    expect(await outbox.list()).toEqual([]);
  });

  it('does not create a ticket twice when Jira created it but answered 500', async () => {
    fake.inject({
      fault: { kind: 'status', status: 500 },
      method: 'post',
      path: '/rest/api',
      afterHandling: true,
    });
    const first = await outbox.send('', {
      kind: 'create',
      ticket: { summary: 'Backup of pg-1 failed twice' },
    });
    expect(first.delivered).toBe(false);
    const report = await outbox.flush();
    expect(report.delivered.map((d) => d.key)).toEqual(['OPS-1']);
    expect(fake.issues()).toHaveLength(1);
    expect(await outbox.resolve(report.delivered[0]!.entry.ticket)).toBe('OPS-1');
  });

  it("does not create a ticket twice when the search does not show Jira's create yet (index lag)", async () => {
    let clock = Date.parse('2026-12-05T10:00:00Z');
    const lagging = await startJiraFake({ flavour, now: () => new Date(clock), searchLagMs: 3000 });
    try {
      const client = createJiraTracker({ project: 'OPS', flavour }, lagging.env, {
        effects: {
          // The client's waits move the fake's clock: nothing waits on the wall clock.
          sleep: async (ms: number) => {
            clock += ms;
          },
          now: () => clock,
        },
        timeoutMs: 2000,
      });
      // The outbox queues on the clock the fake answers on, as a runner and Jira share a day.
      const box = new Outbox({ stateDir, tracker: client, now: () => new Date(clock) });
      lagging.inject({
        fault: { kind: 'status', status: 500 },
        method: 'post',
        path: '/rest/api',
        afterHandling: true,
      });
      const first = await box.send('', {
        kind: 'create',
        ticket: { summary: 'Disk full on db-9' },
      });
      expect(first.delivered).toBe(false);
      const report = await box.flush();
      expect(report.delivered.map((d) => d.key)).toEqual(['OPS-1']);
      expect(lagging.issues()).toHaveLength(1);
      expect(lagging.violations()).toEqual([]);
    } finally {
      await lagging.close();
    }
  });

  it('does not attach a file twice when the answer was lost', async () => {
    await jira.create({ summary: 'attach once' });
    fake.inject({
      fault: { kind: 'reset' },
      method: 'post',
      path: '/attachments',
      afterHandling: true,
    });
    await outbox.send(
      'OPS-1',
      { kind: 'attach', filename: 'journal.jsonl' },
      new TextEncoder().encode('{}\n'),
    );
    await outbox.flush();
    expect(fake.issue('OPS-1')?.attachments).toHaveLength(1);
  });

  it('reports a permanent refusal once and does not retry it on every flush', async () => {
    const result = await outbox.send('OPS-77', { kind: 'comment', body: textDoc('to nowhere') });
    expect(result).toMatchObject({
      delivered: false,
      entry: { state: 'failed', lastError: { code: 'TRACKER_TICKET_NOT_FOUND' } },
    });
    const before = fake.requests().length;
    const report = await outbox.flush();
    expect(report.failed.map((e) => e.ticket)).toEqual(['OPS-77']);
    expect(fake.requests().length).toBe(before);
  });

  it('keeps a write the disk refused (ENOSPC under the local tracker) pending, named, and delivers it once space is back', async () => {
    await jira.create({ summary: 'disk' });
    let full = true;
    const diskFull: typeof jira = Object.create(jira);
    diskFull.comment = async (...args: Parameters<JiraTracker['comment']>) => {
      if (full)
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
          code: 'ENOSPC',
          path: '/state/tracker/OPS-1.json',
        });
      return jira.comment(...args);
    };
    const box = new Outbox({ stateDir, tracker: diskFull });
    const result = await box.send('OPS-1', { kind: 'comment', body: textDoc('after the disk') });
    expect(result).toMatchObject({
      delivered: false,
      entry: { state: 'pending', lastError: { code: 'DISK_FULL' } },
    });
    if (result.delivered) throw new Error('delivered to a full disk');
    expect(result.entry.lastError?.message).toContain('no space left on the device');
    full = false;
    const report = await box.flush();
    expect(report.delivered).toHaveLength(1);
    expect(fake.issue('OPS-1')!.comments).toHaveLength(1);
  });

  it('holds later writes of a ticket behind an undelivered one, but not other tickets', async () => {
    await jira.create({ summary: 'a' });
    await jira.create({ summary: 'b' });
    // Each send tries the transition's first read 4 times (the retry policy); 8 faults cover both sends.
    fake.inject({ fault: { kind: 'status', status: 503 }, times: 8, method: 'get', path: 'OPS-1' });
    const a = await outbox.send('OPS-1', { kind: 'transition', status: 'Awaiting Approval' });
    const a2 = await outbox.send('OPS-1', { kind: 'comment', body: textDoc('after the move') });
    const b = await outbox.send('OPS-2', { kind: 'comment', body: textDoc('independent') });
    expect([a.delivered, a2.delivered, b.delivered]).toEqual([false, false, true]);
    const report = await outbox.flush();
    expect(report.delivered.map((d) => d.entry.write.kind)).toEqual(['transition', 'comment']);
  });
});
