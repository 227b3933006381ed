import { access, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '@opsbook/schema';
import { stateStoreOf } from '@opsbook/state';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  approveTicket,
  openTicket,
  openTracker,
  proposeTicket,
  type RunEvent,
  runTicket,
} from '../src/index.js';
import { startTicketWorld, type TicketWorld } from './ticket-world.js';

const signal = new AbortController().signal;

describe('a run and its ticket when Jira fails (Cloud fake)', () => {
  let fake: JiraFake;
  let world: TicketWorld;
  let key: string;

  beforeEach(async () => {
    fake = await startJiraFake({ flavour: 'cloud' });
    world = await startTicketWorld(fake);
    const eve = world.as('eve');
    key = (
      await openTicket({
        services: eve,
        config: world.config,
        env: world.env,
        executorSigner: world.eve,
        signal,
        summary: 'marker missing',
      })
    ).key;
    await proposeTicket({
      services: eve,
      config: world.config,
      key,
      runbook: 'mark-done',
      params: [`dir=${world.markerDir}`],
      proposerSigner: world.eve,
      senior: world.cast.senior,
    });
    await approveTicket({
      services: world.as('sam'),
      config: world.config,
      key,
      signer: world.sam,
    });
  });

  afterEach(async () => {
    await world.close();
    await fake.closeExpectingNone();
  });

  const marker = () =>
    access(path.join(world.markerDir, 'marker')).then(
      () => true,
      () => false,
    );
  const run = (onEvent?: (e: RunEvent) => void, services = world.as('eve')) =>
    runTicket({
      services,
      config: world.config,
      key,
      env: world.env,
      executorSigner: world.eve,
      signal,
      ...(onEvent ? { onEvent } : {}),
    });

  /** After the outage: one flush delivers everything, a second finds nothing left to send. */
  async function expectDeliveredOnce(runId: string) {
    const report = await world.as('eve').outbox.flush();
    expect(report.pending).toEqual([]);
    expect(report.failed).toEqual([]);
    expect((await world.as('eve').outbox.flush()).delivered).toEqual([]);
    const issue = fake.issue(key)!;
    expect(issue.status).toBe('review');
    expect(issue.attachments.filter((a) => a.filename === `${runId}.journal.jsonl`)).toHaveLength(
      1,
    );
    expect(issue.attachments.filter((a) => a.filename === `${runId}.evidence.txt`)).toHaveLength(1);
    expect(
      issue.comments.filter((c) => JSON.stringify(c.body).includes(`opsbook run ${runId}`)),
    ).toHaveLength(1);
    // Its start said who ran it, and at In Review the approver was told and given the ticket.
    expect(
      issue.comments.filter((c) => JSON.stringify(c.body).includes(`Run ${runId} started by`)),
    ).toHaveLength(1);
    expect(
      issue.comments.filter((c) => JSON.stringify(c.body).includes('Ready for review')),
    ).toHaveLength(1);
    expect(issue.assignee?.accountId).toBe(world.cast.senior);
    expect(issue.history.map((h) => h.to).slice(-2)).toEqual(['inProgress', 'review']);
    // The run's own record (opsbook.run.<runId>), written by it alone.
    expect((issue.properties.get(`opsbook.run.${runId}`) as { status?: string }).status).toBe('ok');
  }

  it('refuses with exit 4 and runs nothing when Jira is down for the pre-run check', async () => {
    await fake.down();
    await expect(run()).rejects.toMatchObject({ kind: 'unreachable', code: 'TRACKER_UNREACHABLE' });
    await fake.up();
    expect(await stateStoreOf(world.config).listRuns()).toEqual([]);
    expect(await marker()).toBe(false);
  });

  it('refuses with exit 4 and runs nothing when Jira answers 500 to the pre-run status check', async () => {
    fake.inject({
      fault: { kind: 'status', status: 500 },
      method: 'get',
      path: `/issue/${key}`,
      times: 100,
    });
    await expect(run()).rejects.toMatchObject({ kind: 'unreachable', code: 'TRACKER_UNAVAILABLE' });
    expect(await stateStoreOf(world.config).listRuns()).toEqual([]);
    expect(await marker()).toBe(false);
  });

  it('completes a run while Jira is down after the check, and the outbox delivers everything once', async () => {
    let going: Promise<void> | undefined;
    // The first write after the claim (the start's record) meets a reset, which holds the
    // ticket's whole queue, and Jira is down from run-end on. The claim itself must reach the
    // ticket, or nothing runs (below); the start's writes are delivered while the host runs, so
    // a fault injected at run-start would race them.
    fake.inject({
      fault: { kind: 'reset' },
      method: 'put',
      path: '/properties/opsbook.run.',
      skip: 1,
      times: 100,
    });
    const outcome = await run((e) => {
      if (e.type === 'run-end') going = fake.down();
    });
    await going;
    expect(outcome.status).toBe('ok');
    expect(await marker()).toBe(true);
    // The start's three writes wait first, in order, then the end's.
    expect(outcome.ticket?.start.delivered).toBe(0);
    expect(outcome.ticket?.end.pending.map((e) => e.write.kind)).toEqual([
      'setProperty',
      'comment',
      'transition',
      'comment',
      'attach',
      'attach',
      'setProperty',
      'transition',
      'comment',
      'assign',
    ]);
    expect(fake.issue(key)!.status).toBe('approved');
    fake.clearFaults();
    await fake.up();
    await expectDeliveredOnce(outcome.runId);
  });

  it('completes a run whose record on the ticket gets 500 at its end, and delivers it once later', async () => {
    // The claim and the start's record go through; the run's record at its end meets the 500s.
    fake.inject({
      fault: { kind: 'status', status: 500 },
      method: 'put',
      path: '/properties/opsbook.run.',
      skip: 2,
      times: 100,
    });
    const outcome = await run();
    expect(outcome.status).toBe('ok');
    // The start (In Progress) went through while the host ran; the run's record at its end met
    // the 500s, and the transition queued behind it waits too.
    expect(outcome.ticket?.start.pending.length).toBe(0);
    expect(outcome.ticket?.start.delivered).toBe(3);
    expect(outcome.ticket?.end.pending.map((e) => e.write.kind)).toEqual([
      'setProperty',
      'transition',
      'comment',
      'assign',
    ]);
    fake.clearFaults();
    await expectDeliveredOnce(outcome.runId);
  });

  it('starts the host while the ticket is still taking the start writes', async () => {
    // The start's comment (the run's first) is held until the host's first step starts, or
    // until the client's timeout: a run that waited for its delivery would lose it to the
    // timeout and leave it in the outbox.
    let stepStarted = () => {};
    const started = new Promise<void>((resolve) => {
      stepStarted = resolve;
    });
    let comments = 0;
    const services = world.as('eve', {
      fetch: async (input, init) => {
        const url = input instanceof Request ? input.url : String(input);
        if (init?.method === 'POST' && url.endsWith('/comment') && comments++ === 0) {
          const signal = init.signal;
          await Promise.race([
            started,
            new Promise((_, reject) =>
              signal?.addEventListener('abort', () => reject(signal.reason), { once: true }),
            ),
          ]);
        }
        return fetch(input, init);
      },
    });
    const outcome = await run((e) => {
      if (e.type === 'step-start') stepStarted();
    }, services);
    expect(outcome.status).toBe('ok');
    expect(outcome.ticket?.start).toMatchObject({ delivered: 3, pending: [], failed: [] });
    await expectDeliveredOnce(outcome.runId);
  });

  it('refuses with exit 4 and runs nothing when the claim of the run cannot be written to the ticket', async () => {
    fake.inject({
      fault: { kind: 'status', status: 500 },
      method: 'put',
      path: '/properties/opsbook.run.',
      times: 100,
    });
    await expect(run()).rejects.toMatchObject({ kind: 'unreachable', code: 'TRACKER_UNAVAILABLE' });
    expect(await stateStoreOf(world.config).listRuns()).toEqual([]);
    expect(await marker()).toBe(false);
  });

  it('waits out a 429 with Retry-After, and never duplicates an attachment Jira stored before answering 500', async () => {
    // The end-of-run comment meets the 429 (the start's comment, the first, goes through), its
    // journal the 500.
    fake.inject({
      fault: { kind: 'status', status: 429, retryAfter: '7' },
      method: 'post',
      path: '/comment',
      skip: 1,
    });
    fake.inject({
      fault: { kind: 'status', status: 500 },
      method: 'post',
      path: '/attachments',
      afterHandling: true,
    });
    const outcome = await run();
    expect(outcome.status).toBe('ok');
    expect(world.sleeps.some((ms) => ms >= 7000)).toBe(true);
    expect(outcome.ticket?.end.pending.map((e) => e.write.kind)).toEqual([
      'attach',
      'attach',
      'setProperty',
      'transition',
      'comment',
      'assign',
    ]);
    await expectDeliveredOnce(outcome.runId);
  });

  it('times out a hanging Jira without failing the run, and sends the comment once later', async () => {
    // The end-of-run comment hangs (the start's, the first, goes through).
    fake.inject({ fault: { kind: 'hang' }, method: 'post', path: '/comment', skip: 1 });
    const outcome = await run();
    expect(outcome.status).toBe('ok');
    expect(outcome.ticket?.end.pending[0]).toMatchObject({
      write: { kind: 'comment' },
      lastError: { code: 'TRACKER_TIMEOUT' },
    });
    await expectDeliveredOnce(outcome.runId);
  });

  it("waits for a hanging Jira only as long as opsbook.yaml's tracker.jira.timeout", async () => {
    const file = path.join(world.dir, 'opsbook.yaml');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('flavour: cloud}', 'flavour: cloud, timeout: 200ms}'));
    const config = await loadConfig({ file });
    fake.inject({ fault: { kind: 'hang' }, method: 'get', path: `/issue/${key}`, times: 10 });
    // No timeoutMs from the caller: the configured one applies (sleeps between retries skipped).
    const { tracker } = openTracker(
      config,
      { ...world.env, OPSBOOK_USER: 'eve' },
      { http: { effects: { sleep: async () => {} } } },
    );
    await expect(tracker.get(key)).rejects.toMatchObject({
      code: 'TRACKER_TIMEOUT',
      message: expect.stringContaining('did not answer within 200 ms'),
    });
  });
});
