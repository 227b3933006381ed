import { stateStoreOf } from '@opsbook/state';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import type { LocalTracker } from '@opsbook/tracker';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  acceptTicket,
  approveTicket,
  escalateTicket,
  openTicket,
  proposeTicket,
  rejectTicket,
  runTicket,
  searchBugs,
  showTicket,
} from '../src/index.js';
import { startTicketWorld, type TicketWorld } from './ticket-world.js';

/** What a ticket shows, whichever tracker holds it: path of statuses, comments, attachments. */
interface Trail {
  statuses: string[];
  comments: string[];
  attachments: string[];
  assignee: string | null;
}

async function trailOf(
  world: TicketWorld,
  fake: JiraFake | undefined,
  key: string,
): Promise<Trail> {
  if (fake) {
    const issue = fake.issue(key)!;
    const names = {
      open: 'Open',
      awaitingApproval: 'Awaiting Approval',
      approved: 'Approved',
      inProgress: 'In Progress',
      review: 'In Review',
      done: 'Done',
    };
    return {
      statuses: ['Open', ...issue.history.map((h) => names[h.to])],
      comments: issue.comments.map((c) => JSON.stringify(c.body)),
      attachments: issue.attachments.map((a) => a.filename),
      assignee: issue.assignee
        ? fake.flavour === 'cloud'
          ? issue.assignee.accountId
          : issue.assignee.name
        : null,
    };
  }
  const t = await (world.as('eve').tracker as LocalTracker).read(key);
  return {
    statuses: t.history.filter((h) => h.field === 'status').map((h) => String(h.to)),
    comments: t.comments.map((c) => JSON.stringify(c.body)),
    attachments: t.attachments.map((a) => a.filename),
    assignee: t.assignee,
  };
}

const trackers = [['local'], ['cloud'], ['datacenter']] as const;

describe.each(trackers)('the seed workflow on the %s tracker', (kind) => {
  let fake: JiraFake | undefined;
  let world: TicketWorld;

  beforeEach(async () => {
    fake = kind === 'local' ? undefined : await startJiraFake({ flavour: kind });
    world = await startTicketWorld(fake);
  });

  afterEach(async () => {
    const violations = fake?.violations() ?? [];
    await fake?.close();
    await world.close();
    expect(violations).toEqual([]);
  });

  it('open with evidence → propose → need data → propose → approve → run → In Review → accept → Done', async () => {
    const { cast, config } = world;
    const signal = new AbortController().signal;
    const eve = world.as('eve');
    const opened = await openTicket({
      services: eve,
      config,
      env: world.env,
      executorSigner: world.eve,
      signal,
      summary: 'web-01: marker missing after deploy',
      description: 'The health page says the marker is missing.',
      grade: 'P3',
      labels: ['marker'],
      assignee: cast.engineer,
      evidence: { runbook: 'collect-diagnostics' },
    });
    const key = opened.key;
    expect(key).toMatch(/^OPS-\d+$/);
    expect(opened.evidence?.outcome.status).toBe('ok');

    const propose = () =>
      proposeTicket({
        services: world.as('eve'),
        config,
        key,
        runbook: 'mark-done',
        params: [`dir=${world.markerDir}`],
        proposerSigner: world.eve,
        senior: cast.senior,
      });
    const first = await propose();
    expect(first.report.pending).toEqual([]);
    await rejectTicket({
      services: world.as('sam'),
      key,
      by: 'sam',
      text: 'Attach df -i output too, see https://wiki.example.com/runbooks/disk',
      needData: true,
    });
    expect((await eve.tracker.get(key)).status).toBe('Open');
    const second = await propose();
    expect(second.proposal.approvalId).not.toBe(first.proposal.approvalId);

    const approved = await approveTicket({
      services: world.as('sam'),
      config,
      key,
      signer: world.sam,
    });
    expect(approved.approval.complete).toBe(true);
    expect((await eve.tracker.get(key)).status).toBe('Approved');

    const outcome = await runTicket({
      services: world.as('eve'),
      config,
      key,
      env: world.env,
      executorSigner: world.eve,
      signal,
    });
    expect(outcome.status).toBe('ok');
    expect(outcome.ticket?.end.pending).toEqual([]);
    expect((await eve.tracker.get(key)).status).toBe('In Review');

    await expect(
      acceptTicket({ services: world.as('sam'), config, key, signer: world.sam }),
    ).rejects.toMatchObject({ code: 'SEPARATION_OF_DUTIES' });
    const accepted = await acceptTicket({
      services: world.as('vic'),
      config,
      key,
      signer: world.vic,
    });
    expect(accepted.acceptance).toMatchObject({
      kind: 'Acceptance',
      proposer: 'eve',
      approvers: ['sam'],
      verifier: 'vic',
    });

    const trail = await trailOf(world, fake, key);
    expect(trail.statuses).toEqual([
      'Open',
      'Awaiting Approval',
      'Open',
      'Awaiting Approval',
      'Approved',
      'In Progress',
      'In Review',
      'Done',
    ]);
    const files = trail.attachments.map((f) =>
      f.replace(/^OPS-\d+\.[\w-]+\./, 'KEY.ID.').replace(/^\d{8}-\d{6}-\w+\./, 'RUN.'),
    );
    expect(files).toEqual([
      'RUN.evidence.txt',
      'KEY.ID.approval.json',
      'KEY.ID.plan.json',
      'KEY.ID.approval.json',
      'KEY.ID.plan.json',
      'KEY.ID.approval.json',
      'RUN.journal.jsonl',
      'RUN.evidence.txt',
      'KEY.ID.acceptance.json',
    ]);
    expect(trail.comments).toHaveLength(6); // plan, need-data, plan, approved, run summary, accepted
    expect(trail.comments[1]).toContain('More data needed');
    expect(trail.comments[2]).toContain(`echo fixed >`);
    expect(trail.comments[4]).toContain(outcome.journal.head);
    expect(trail.comments[4]).toMatch(/Post\\*-checks/);
    expect(trail.assignee).toBe(cast.engineer);

    const view = await showTicket(eve, key);
    expect(view.runs).toMatchObject([
      {
        runId: outcome.runId,
        status: 'ok',
        journalHead: outcome.journal.head,
        postchecks: { passed: 1, failed: 0 },
      },
    ]);
    expect(view.acceptance?.verifier).toBe('vic');
  });

  it('refuses to run a ticket that is not Approved, or with the approval of another ticket, and runs nothing', async () => {
    const { config } = world;
    const signal = new AbortController().signal;
    const eve = world.as('eve');
    const a = await openTicket({
      services: eve,
      config,
      env: world.env,
      executorSigner: world.eve,
      signal,
      summary: 'first',
    });
    const b = await openTicket({
      services: eve,
      config,
      env: world.env,
      executorSigner: world.eve,
      signal,
      summary: 'second',
    });
    await proposeTicket({
      services: eve,
      config,
      key: a.key,
      runbook: 'mark-done',
      params: [`dir=${world.markerDir}`],
      proposerSigner: world.eve,
      senior: world.cast.senior,
    });
    await expect(
      runTicket({
        services: eve,
        config,
        key: a.key,
        env: world.env,
        executorSigner: world.eve,
        signal,
      }),
    ).rejects.toMatchObject({ code: 'APPROVAL_MISSING', kind: 'refused' });
    await approveTicket({ services: world.as('sam'), config, key: a.key, signer: world.sam });
    // b carries a's approval (copied by hand): the ticket gate sees the mismatch.
    const approval = await eve.tracker.getProperty(a.key, 'opsbook.approval');
    await eve.tracker.setProperty(b.key, 'opsbook.approval', approval);
    await expect(
      runTicket({
        services: eve,
        config,
        key: b.key,
        env: world.env,
        executorSigner: world.eve,
        signal,
      }),
    ).rejects.toMatchObject({ code: 'TICKET_MISMATCH', kind: 'refused' });
    await world.as('sam').tracker.transition(a.key, 'Open');
    await expect(
      runTicket({
        services: eve,
        config,
        key: a.key,
        env: world.env,
        executorSigner: world.eve,
        signal,
      }),
    ).rejects.toMatchObject({ code: 'TICKET_NOT_APPROVED', kind: 'refused' });
    expect(await stateStoreOf(config).listRuns()).toEqual([]);
  });

  it('finds known bugs by text and escalates with the evidence', async () => {
    const eve = world.as('eve');
    const signal = new AbortController().signal;
    const bug = await openTicket({
      services: eve,
      config: world.config,
      env: world.env,
      executorSigner: world.eve,
      signal,
      summary: 'nginx worker leaks memory under http2',
      labels: ['bug'],
    });
    await openTicket({
      services: eve,
      config: world.config,
      env: world.env,
      executorSigner: world.eve,
      signal,
      summary: 'nginx config typo',
      labels: ['task'],
    });
    const found = await searchBugs(eve, 'nginx memory');
    expect(found.tickets.map((t) => t.key)).toEqual([bug.key]);
    const report = await escalateTicket(eve, {
      key: bug.key,
      to: world.cast.lead,
      by: 'eve',
      note: 'looks like upstream bug',
    });
    expect(report.pending).toEqual([]);
    expect((await eve.tracker.get(bug.key)).assignee?.id).toBe(world.cast.lead);
  });
});
