import type { ApprovalStatement } from '@opsbook/approval';
import { stateStoreOf } from '@opsbook/state';
import { type JiraFake, type JiraFakeOptions, startJiraFake } from '@opsbook/testkit/jira';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  APPROVAL_PROPERTY,
  approveTicket,
  checkRunOnTicket,
  openTracker,
  runTicket,
  type TicketApproval,
  TicketGate,
} from '../src/index.js';
import { openAs, proposeMarkDone, startTicketWorld, type TicketWorld } from './ticket-world.js';

/*
 * A worker of a distributed run checks the run's ticket itself before it runs a shard: whoever
 * submits a run also writes the queue, and could queue one without the submitter's ticket check
 * (the runner library's runDistributed with no ticket gate). Before, a worker ran such a shard
 * after a senior had moved the ticket on, and beyond the approval's maxRuns.
 */
describe('a worker checks the ticket of the run it is given (Jira, the fake)', () => {
  let fake: JiraFake;
  let world: TicketWorld;
  // The fake reads clockOffsetMs from its options at every answer: a test moves Jira's clock.
  let fakeOptions: JiraFakeOptions;

  beforeEach(async () => {
    fakeOptions = { flavour: 'cloud', clockOffsetMs: 0 };
    fake = await startJiraFake(fakeOptions);
    world = await startTicketWorld(fake);
  });

  afterEach(async () => {
    await world.close();
    await fake.closeExpectingNone();
  });

  /** An Approved ticket carrying a signed mark-done approval of `maxRuns`, and its statement. */
  async function approved(maxRuns: number): Promise<{ key: string; statement: ApprovalStatement }> {
    const eve = world.as('eve');
    const { key } = await openAs(world, eve, `worker check, ${maxRuns} run(s)`);
    await proposeMarkDone(world, eve, key);
    await approveTicket({
      services: world.as('sam'),
      config: world.config,
      key,
      signer: world.sam,
      maxRuns,
    });
    const approval = (await eve.tracker.getProperty(key, APPROVAL_PROPERTY)) as TicketApproval;
    const envelope = JSON.parse(approval.envelope) as { payload: string };
    const statement = JSON.parse(
      Buffer.from(envelope.payload, 'base64').toString('utf8'),
    ) as ApprovalStatement;
    return { key, statement };
  }

  const check = (statement: ApprovalStatement, runId: string) =>
    checkRunOnTicket(world.as('worker').tracker, stateStoreOf(world.config), statement, runId);

  /** The claim the submitter makes on the ticket before it queues any shard. */
  async function claimed(statement: ApprovalStatement, runId: string): Promise<void> {
    const gate = new TicketGate({ services: world.as('eve'), store: stateStoreOf(world.config) });
    await gate.check(statement);
    await gate.claim(runId, 'eve');
  }

  /** A run's record on the ticket written by hand, as the engineer can through the tracker. */
  const recordByHand = (statement: ApprovalStatement, runId: string) =>
    world.as('eve').tracker.setProperty(statement.ticket, `opsbook.run.${runId}`, {
      runId,
      approvalId: statement.id,
      by: 'eve',
      startedAt: new Date().toISOString(),
    });

  it('runs a shard of a run its submitter claimed on the Approved ticket', async () => {
    const { statement } = await approved(1);
    await claimed(statement, '20261207-020000-aaaaaa');
    await expect(check(statement, '20261207-020000-aaaaaa')).resolves.toBeUndefined();
  });

  it('refuses a run the ticket does not record (queued without the submitter’s claim)', async () => {
    const { statement } = await approved(3);
    await expect(check(statement, '20261207-020000-bbbbbb')).rejects.toMatchObject({
      code: 'RUN_NOT_ON_TICKET',
    });
  });

  it('refuses once a senior moved the ticket on, though the approval has runs left', async () => {
    const { key, statement } = await approved(3);
    const outcome = await runTicket({
      services: world.as('eve'),
      config: world.config,
      key,
      env: world.env,
      executorSigner: world.eve,
      signal: new AbortController().signal,
    });
    expect(outcome.status).toBe('ok');
    expect((await world.as('eve').tracker.get(key)).status).toBe('In Review');
    // The engineer records a new run on the ticket themselves, as a worker's check wants.
    const runId = '20261207-020000-cccccc';
    await recordByHand(statement, runId);
    await expect(check(statement, runId)).rejects.toMatchObject({ code: 'TICKET_NOT_APPROVED' });
  });

  it('refuses a run beyond maxRuns, counted on the ticket', async () => {
    const { statement } = await approved(1);
    await claimed(statement, '20261207-020000-dddddd');
    // A second run's record written by hand (the ticket stays Approved: nothing moved it).
    const runId = '20261207-020001-eeeeee';
    await recordByHand(statement, runId);
    await expect(check(statement, runId)).rejects.toMatchObject({ code: 'RUNS_EXHAUSTED' });
  });

  it("refuses a run whose approval expired by the tracker's clock, though this machine's says it is valid (a clock set back)", async () => {
    const { statement } = await approved(1);
    await claimed(statement, '20261207-020000-gggggg');
    fakeOptions.clockOffsetMs = Date.parse(statement.expiresAt) - Date.now() + 60_000;
    await expect(check(statement, '20261207-020000-gggggg')).rejects.toMatchObject({
      code: 'EXPIRED',
      message: expect.stringMatching(/by the tracker's clock/),
    });
  });

  it("refuses a run whose approval is not valid yet by the tracker's clock (this machine's set forward)", async () => {
    const { statement } = await approved(1);
    await claimed(statement, '20261207-020000-hhhhhh');
    fakeOptions.clockOffsetMs = Date.parse(statement.notBefore) - Date.now() - 10 * 60_000;
    await expect(check(statement, '20261207-020000-hhhhhh')).rejects.toMatchObject({
      code: 'NOT_YET_VALID',
    });
  });

  it("refuses a run where Jira's answers carry no Date: its clock is unknown, this machine's is the engineer's", async () => {
    const { statement } = await approved(1);
    await claimed(statement, '20261207-020000-iiiiii');
    fakeOptions.datesAnswers = false;
    await expect(check(statement, '20261207-020000-iiiiii')).rejects.toMatchObject({
      code: 'TRACKER_CLOCK_UNKNOWN',
      message: expect.stringMatching(/without a Date header/),
    });
  });

  it('refuses on a tracker other than the one the approval binds', async () => {
    const { statement } = await approved(1);
    await claimed(statement, '20261207-020000-ffffff');
    const local = openTracker(
      { ...world.config, raw: { ...world.config.raw, tracker: { kind: 'local' } } },
      world.env,
    );
    await expect(
      checkRunOnTicket(
        local.tracker,
        stateStoreOf(world.config),
        statement,
        '20261207-020000-ffffff',
      ),
    ).rejects.toMatchObject({ code: 'TRACKER_MISMATCH' });
  });
});
