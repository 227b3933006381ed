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
    const violations = fake.violations();
    await fake.close();
    await world.close();
    expect(violations).toEqual([]);
  });

  const marker = () =>
    access(path.join(world.markerDir, 'marker')).then(
      () => true,
      () => false,
    );
  const run = (onEvent?: (e: RunEvent) => void) =>
    runTicket({
      services: world.as('eve'),
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
    const outcome = await runTicket({
      services: world.as('eve'),
      config: world.config,
      key,
      env: world.env,
      executorSigner: world.eve,
      signal,
      onEvent: (e) => {
        if (e.type === 'run-start') going = fake.down();
      },
    });
    await going;
    expect(outcome.status).toBe('ok');
    expect(await marker()).toBe(true);
    expect(outcome.ticket?.end.pending.map((e) => e.write.kind)).toEqual([
      'comment',
      'attach',
      'attach',
      'setProperty',
      'transition',
      'comment',
      'assign',
    ]);
    expect(fake.issue(key)!.status).toBe('inProgress');
    await fake.up();
    await expectDeliveredOnce(outcome.runId);
  });

  it('completes a run whose record on the ticket gets 500 at its end, and delivers it once later', async () => {
    // From run-start on: the claim before it must reach the ticket, or nothing runs (below).
    const outcome = await run((e) => {
      if (e.type === 'run-start')
        fake.inject({
          fault: { kind: 'status', status: 500 },
          method: 'put',
          path: '/properties/opsbook.run.',
          times: 100,
        });
    });
    expect(outcome.status).toBe('ok');
    // The claim and the start (In Progress) went through before run-start; the run's record at
    // its end met the 500s, and the transition queued behind it waits too.
    expect(outcome.ticket?.start.pending.length).toBe(0);
    expect(outcome.ticket?.end.pending.map((e) => e.write.kind)).toEqual([
      'setProperty',
      'transition',
      'comment',
      'assign',
    ]);
    fake.clearFaults();
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
    // From run-start on: the end-of-run comment meets the 429, its journal the 500.
    const outcome = await run((e) => {
      if (e.type !== 'run-start') return;
      fake.inject({
        fault: { kind: 'status', status: 429, retryAfter: '7' },
        method: 'post',
        path: '/comment',
      });
      fake.inject({
        fault: { kind: 'status', status: 500 },
        method: 'post',
        path: '/attachments',
        afterHandling: true,
      });
    });
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
    const outcome = await run((e) => {
      if (e.type === 'run-start')
        fake.inject({ fault: { kind: 'hang' }, method: 'post', path: '/comment' });
    });
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
