import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseTrustStore } from '@opsbook/approval';
import { stateStoreOf } from '@opsbook/state';
import { describe, expect, it } from 'vitest';
import {
  acceptTicket,
  approveTicket,
  escalateTicket,
  isProvenStep,
  openTicket,
  proposeTicket,
  readHistory,
  rejectTicket,
  reportRuns,
  runApproved,
  runTicket,
  searchBugs,
  showTicket,
  TicketGate,
} from '../src/index.js';
import { mentionsIn, plainText, textNodesOf, trailOf } from './ticket-trail.js';
import { openAs, proposeMarkDone, runKilledBeforeReport, useTicketWorld } from './ticket-world.js';

const trackers = [['local'], ['cloud'], ['datacenter']] as const;

describe.each(trackers)('the workflow on the %s tracker', (kind) => {
  const current = useTicketWorld(kind);

  it('shows every step on the ticket, by the person whose key did it: open → propose → need data → propose → reject → propose → approve → run → In Review → accept → Done', async () => {
    const { fake, world } = current;
    const { cast, config } = world;
    const signal = new AbortController().signal;
    // OPSBOOK_USER names someone else: no name on the ticket may come from it.
    const bot = () => world.as('mallory');
    const env = { ...world.env, OPSBOOK_USER: 'mallory' };
    const fp = {
      eve: world.eve.publicKey.fingerprint,
      sam: world.sam.publicKey.fingerprint,
    };
    const opened = await openTicket({
      services: bot(),
      config,
      env,
      executorSigner: world.eve,
      signal,
      summary: 'web-01: marker missing after deploy',
      description: 'The health page says the marker is missing.',
      grade: 'P3',
      labels: ['marker'],
      evidence: { runbook: 'collect-diagnostics' },
    });
    const key = opened.key;
    expect(key).toMatch(/^OPS-\d+$/);
    expect(opened.evidence?.outcome.status).toBe('ok');
    const { tracker } = bot();
    // 1. Who opened it: the reporter is the engineer, the first comment names them by key.
    expect((await tracker.get(key)).reporter?.id).toBe(cast.engineer);
    expect((await tracker.get(key)).assignee?.id).toBe(cast.engineer);
    let trail = await trailOf(world, fake, key);
    expect(trail.comments[0]).toContain(`Opened by Eve Engineer (eve, key ${fp.eve})`);
    expect(trail.comments[0]).toContain(
      `run ${opened.evidence?.outcome.runId} of collect-diagnostics`,
    );
    expect(trail.attachments).toEqual([`${opened.evidence?.outcome.runId}.evidence.txt`]);

    const propose = () => proposeMarkDone(world, bot(), key);
    const first = await propose();
    expect(first.report.pending).toEqual([]);
    expect((await tracker.get(key)).assignee?.id).toBe(cast.senior);
    // 3. Only a senior decides; the decision is named by the senior's key.
    await expect(
      rejectTicket({ services: bot(), config, key, signer: world.eve, text: 'no' }),
    ).rejects.toMatchObject({ code: 'SIGNER_NOT_SENIOR' });
    await rejectTicket({
      services: bot(),
      config,
      key,
      signer: world.sam,
      text: 'Attach df -i output too, see https://wiki.example.com/runbooks/disk',
      needData: true,
    });
    expect((await tracker.get(key)).status).toBe('Open');
    expect((await tracker.get(key)).assignee?.id).toBe(cast.engineer);
    const second = await propose();
    expect(second.proposal.approvalId).not.toBe(first.proposal.approvalId);
    await rejectTicket({
      services: bot(),
      config,
      key,
      signer: world.sam,
      text: 'Rotate the logs instead of deleting them: https://wiki.example.com/runbooks/logrotate',
    });
    const third = await propose();
    const approved = await approveTicket({ services: bot(), config, key, signer: world.sam });
    expect(approved.approval.complete).toBe(true);
    expect((await tracker.get(key)).status).toBe('Approved');

    const outcome = await runTicket({
      services: bot(),
      config,
      key,
      env,
      executorSigner: world.eve,
      signal,
    });
    expect(outcome.status).toBe('ok');
    expect(outcome.ticket?.end.pending).toEqual([]);
    // 5. In Review: handed to the reviewing senior (the approver by default).
    expect((await tracker.get(key)).status).toBe('In Review');
    expect((await tracker.get(key)).assignee?.id).toBe(cast.senior);

    await expect(
      acceptTicket({ services: bot(), config, key, signer: world.sam }),
    ).rejects.toMatchObject({ code: 'SEPARATION_OF_DUTIES' });
    const accepted = await acceptTicket({ services: bot(), config, key, signer: world.vic });
    expect(accepted.acceptance).toMatchObject({
      kind: 'Acceptance',
      proposer: 'eve',
      approvers: ['sam'],
      verifier: 'vic',
    });

    trail = await trailOf(world, fake, key);
    expect(trail.statuses).toEqual([
      'Open',
      'Awaiting Approval',
      'Open',
      'Awaiting Approval',
      'Open',
      'Awaiting Approval',
      'Approved',
      'In Progress',
      'In Review',
      'Done',
    ]);
    // Re-assigned on accept: the Done ticket is the verifier's.
    expect(trail.assignee).toBe(cast.verifier ?? 'vic');
    const files = trail.attachments.map((f) =>
      f.replace(/^OPS-\d+\.[\w-]+\./, 'KEY.ID.').replace(/^\d{8}-\d{6}-\w+\./, 'RUN.'),
    );
    expect(files).toEqual([
      'RUN.evidence.txt',
      ...[1, 2, 3].flatMap(() => ['KEY.ID.approval.json', 'KEY.ID.plan.json']),
      'KEY.ID.approval.json',
      'RUN.journal.jsonl',
      'RUN.evidence.txt',
      'KEY.ID.acceptance.json',
    ]);
    const [
      openedC,
      plan1,
      needData,
      plan2,
      rejected,
      plan3,
      approvedC,
      started,
      summary,
      handover,
      acceptedC,
      ...more
    ] = trail.comments.map(String);
    expect(more).toEqual([]);
    expect(openedC).toContain('Opened by Eve Engineer');
    // 2. The proposal comment names the proposer by key, and mentions the senior asked.
    for (const [i, plan] of [plan1, plan2, plan3].entries()) {
      expect(plan).toContain(`Proposed by Eve Engineer (eve, key ${fp.eve})`);
      expect(plan).toContain(`echo fixed >`);
      expect(trail.mentions[[1, 3, 5][i]!]).toEqual([cast.senior]);
    }
    // 3. Each decision is its own comment: which plan, who, why, and the links they gave.
    expect(needData).toContain('More data needed before a decision');
    expect(needData).toContain(`Asked by Sam Senior (sam, key ${fp.sam})`);
    expect(needData).toContain(first.planDigest);
    expect(needData).toContain(first.proposal.approvalId);
    expect(needData).toContain('Attach df -i output too');
    expect(rejected).toContain('Plan rejected, with guidance');
    expect(rejected).toContain(`Rejected by Sam Senior (sam, key ${fp.sam})`);
    expect(rejected).toContain(second.planDigest);
    expect(rejected).not.toContain('More data needed');
    expect(needData).not.toContain('Plan rejected');
    expect(JSON.stringify(trail.raw[4])).toContain(
      fake?.flavour === 'datacenter'
        ? '[https://wiki.example.com/runbooks/logrotate|https://wiki.example.com/runbooks/logrotate]'
        : '"href":"https://wiki.example.com/runbooks/logrotate"',
    );
    expect((await tracker.remoteLinks(key)).map((l) => l.url)).toEqual([
      'https://wiki.example.com/runbooks/disk',
      'https://wiki.example.com/runbooks/logrotate',
    ]);
    expect(approvedC).toContain(`Approved by Sam Senior (${fp.sam})`);
    expect(approvedC).toContain(third.planDigest);
    // 4. The run said who runs what, where, before it touched a host.
    expect(started).toContain(`Run ${outcome.runId} started by Eve Engineer (eve, key ${fp.eve})`);
    expect(started).toContain(third.proposal.approvalId);
    expect(started).toContain(third.planDigest);
    expect(started).toContain('signed by Sam Senior (sam)');
    expect(started).toContain(
      `${outcome.verified.plan.hosts.length} host(s): ${outcome.verified.plan.hosts.map((h) => h.name).join(', ')}`,
    );
    expect(started).toContain(outcome.journal.location);
    expect(summary).toContain(outcome.journal.head);
    expect(summary).toMatch(/Post-checks/);
    // 5. The hand-over mentions the reviewing senior, and says an approver does not accept.
    expect(handover).toContain('Ready for review');
    expect(handover).toContain('As an approver they cannot accept it themselves');
    expect(trail.mentions[9]).toEqual([cast.senior]);
    expect(acceptedC).toContain('Accepted by Vic Verifier');
    // 8. Nobody is named from OPSBOOK_USER.
    for (const c of trail.comments) expect(c).not.toContain('mallory');

    // 3. The whole history of proposals and decisions, each decision signed by its senior.
    const history = await readHistory(tracker, key);
    expect(history.map((h) => `${h.step} by ${h.by.id}`)).toEqual([
      'opened by eve',
      'proposed by eve',
      'need-data by sam',
      'proposed by eve',
      'rejected by sam',
      'proposed by eve',
      'approved by sam',
    ]);
    expect(history.map((h) => h.approvalId)).toEqual([
      undefined,
      ...[first, second, third].flatMap((p) => [p.proposal.approvalId, p.proposal.approvalId]),
    ]);
    expect(history[2]).toMatchObject({
      planDigest: first.planDigest,
      links: ['https://wiki.example.com/runbooks/disk'],
    });
    expect(history[4]?.reason).toContain('Rotate the logs');
    const trust = parseTrustStore(await readFile(config.trustStore), config.trustStore);
    for (const i of [0, 2, 4]) expect(isProvenStep(history[i]!, trust)).toBe(true);
    expect(isProvenStep({ ...history[4]!, reason: 'approve anything' }, trust)).toBe(false);
    expect((await showTicket(bot(), key)).history).toEqual(history);

    const view = await showTicket(bot(), key);
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
    const { world } = current;
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

  it('runs only the approval the ticket carries: one approved before a later plan, or one a senior rejected (also at In Review), is refused and runs nothing', async () => {
    const { world } = current;
    const { config } = world;
    const signal = new AbortController().signal;
    const eve = world.as('eve');
    const sam = world.as('sam');
    const { key } = await openAs(world, eve, 'superseded plans');
    await proposeMarkDone(world, eve, key);
    const first = await approveTicket({ services: sam, config, key, signer: world.sam });
    // The engineer keeps the first signed plan as a file (it is attached to the ticket too).
    const firstFile = path.join(world.dir, 'first.approval.json');
    await writeFile(firstFile, first.approval.envelope);
    const runFile = (approvalFile: string) =>
      runApproved({
        config,
        approvalFile,
        env: world.env,
        executorSigner: world.eve,
        signal,
        ticket: new TicketGate({ services: eve, store: stateStoreOf(config), signal }),
      });
    await rejectTicket({ services: sam, config, key, signer: world.sam, text: 'another dir' });
    expect((await showTicket(eve, key)).approval?.rejected).toEqual(expect.any(String));
    // Two runs allowed: after one, the rejection (not the run limit) is what refuses the next.
    await proposeMarkDone(world, eve, key, { maxRuns: 2 });
    const second = await approveTicket({ services: sam, config, key, signer: world.sam });
    expect(second.statement.id).not.toBe(first.statement.id);
    expect((await eve.tracker.get(key)).status).toBe('Approved');
    // The first approval still verifies (signature, window, run limit), but is not the ticket's.
    await expect(runFile(firstFile)).rejects.toMatchObject({
      code: 'APPROVAL_NOT_CURRENT',
      kind: 'refused',
      message: expect.stringContaining(`${key} carries approval ${second.statement.id}`),
    });
    expect(await stateStoreOf(config).listRuns()).toEqual([]);

    const runIt = () =>
      runTicket({ services: eve, config, key, env: world.env, executorSigner: world.eve, signal });
    const outcome = await runIt();
    expect(outcome.status).toBe('ok');
    expect((await eve.tracker.get(key)).status).toBe('In Review');
    // A senior sends the run's result back: the ticket is Open again, for a new plan.
    await rejectTicket({
      services: world.as('vic'),
      config,
      key,
      signer: world.vic,
      text: 'the marker belongs elsewhere',
    });
    expect((await eve.tracker.get(key)).status).toBe('Open');
    const history = await readHistory(eve.tracker, key);
    expect(history.at(-1)).toMatchObject({ step: 'rejected', approvalId: second.statement.id });
    // Moved back to Approved by hand (a Jira admin, say): the rejected approval still never runs.
    await sam.tracker.transition(key, sam.tracker.statuses.awaitingApproval);
    await sam.tracker.transition(key, sam.tracker.statuses.approved);
    const secondFile = path.join(world.dir, 'second.approval.json');
    await writeFile(secondFile, second.approval.envelope);
    for (const attempt of [() => runFile(secondFile), runIt])
      await expect(attempt()).rejects.toMatchObject({
        code: 'APPROVAL_NOT_CURRENT',
        message: expect.stringContaining(`a senior rejected approval ${second.statement.id}`),
      });
    expect((await stateStoreOf(config).listRuns()).map((r) => r.runId)).toEqual([outcome.runId]);
  });

  it('lets a senior send back a ticket left In Progress by a run that died before its end (no run left), naming that run', async () => {
    const { fake, world } = current;
    const { config } = world;
    const signal = new AbortController().signal;
    const eve = world.as('eve');
    const sam = world.as('sam');
    const { key } = await openAs(world, eve, 'a run that died');
    await proposeMarkDone(world, eve, key);
    await approveTicket({ services: sam, config, key, signer: world.sam });
    const runIt = () =>
      runTicket({ services: eve, config, key, env: world.env, executorSigner: world.eve, signal });
    const { runId } = await runIt();
    // What a runner killed mid-run leaves: the claim without an end, the ticket In Progress.
    const property = `opsbook.run.${runId}`;
    const {
      status: _s,
      journalHead: _h,
      journalEvents: _e,
      postchecks: _p,
      ...claim
    } = (await eve.tracker.getProperty(key, property)) as Record<string, unknown>;
    await eve.tracker.setProperty(key, property, claim);
    await eve.tracker.transition(key, eve.tracker.statuses.inProgress);
    await expect(runIt()).rejects.toMatchObject({ code: 'RUNS_EXHAUSTED' });
    await rejectTicket({
      services: sam,
      config,
      key,
      signer: world.sam,
      text: 'the host is fine, plan again',
    });
    expect((await eve.tracker.get(key)).status).toBe('Open');
    expect((await showTicket(eve, key)).approval?.rejected).toEqual(expect.any(String));
    const said = (await trailOf(world, fake, key)).comments.at(-1)!;
    expect(said).toContain(`Run ${runId} (by eve`);
    expect(said).toContain('has no reported end');
    // The engineer can go on: a new plan.
    await proposeMarkDone(world, eve, key);
    expect((await eve.tracker.get(key)).status).toBe('Awaiting Approval');
  });

  it('reports a run whose runner was killed between its end and its report (ticket report), once', async () => {
    const { fake, world } = current;
    const { config } = world;
    const signal = new AbortController().signal;
    const eve = world.as('eve');
    const sam = world.as('sam');
    const { key } = await openAs(world, eve, 'killed before its report');
    await proposeMarkDone(world, eve, key);
    await approveTicket({ services: sam, config, key, signer: world.sam });
    // The run ends (journal and ledger), then its runner dies before telling the ticket.
    const { outcome } = await runKilledBeforeReport(world, eve, key);
    await expect(
      runTicket({ services: eve, config, key, env: world.env, executorSigner: world.eve, signal }),
    ).rejects.toMatchObject({ code: 'RUNS_EXHAUSTED' });

    // A claim naming another executor than the journal's run: not reported from that journal.
    const property = `opsbook.run.${outcome.runId}`;
    const claim = (await eve.tracker.getProperty(key, property)) as Record<string, unknown>;
    await eve.tracker.setProperty(key, property, { ...claim, by: 'mallory' });
    const refused = await reportRuns({ services: eve, config, key });
    expect(refused.reported).toEqual([]);
    expect(refused.left[0]?.why).toContain('is not the run');
    await eve.tracker.setProperty(key, property, claim);

    const done = await reportRuns({ services: eve, config, key });
    expect(done.left).toEqual([]);
    expect(done.reported.map((r) => r.runId)).toEqual([outcome.runId]);
    expect((await eve.tracker.get(key)).status).toBe('In Review');
    const trail = await trailOf(world, fake, key);
    expect(trail.attachments).toContain(`${outcome.runId}.journal.jsonl`);
    expect((await showTicket(eve, key)).runs.find((r) => r.runId === outcome.runId)?.status).toBe(
      'ok',
    );
    // Nothing left to report; a second call changes nothing.
    expect(await reportRuns({ services: eve, config, key })).toEqual({
      outbox: { delivered: 0, waiting: 0 },
      reported: [],
      left: [],
    });
    await expect(
      reportRuns({ services: eve, config, key, runId: 'nosuchrun' }),
    ).rejects.toMatchObject({
      code: 'RUN_MISSING',
    });
  });

  it('writes every script the plan runs into the proposal comment, whole, under its path and sha256', async () => {
    const { fake, world } = current;
    const eve = world.as('eve');
    const { key } = await openAs(world, eve, 'scripts in the proposal');
    await proposeTicket({
      services: eve,
      config: world.config,
      key,
      runbook: 'collect-diagnostics',
      params: [],
      proposerSigner: world.eve,
      senior: world.cast.senior,
    });
    const proposal = (await trailOf(world, fake, key)).comments.find((c) =>
      c.includes('Proposed plan: collect-diagnostics'),
    );
    expect(proposal).toMatch(/Script scripts\/failed-units\.sh \(sha256 [0-9a-f]{64}\)/);
    expect(proposal).toContain('systemctl --failed --no-legend --no-pager --plain');
    expect(proposal).toMatch(/Script scripts\/unit-journal\.sh \(sha256 [0-9a-f]{64}\)/);
  });

  it('names people by their approvers.yaml id: a misspelt one is refused on the local tracker (with the closest id), an engineer as --senior everywhere', async () => {
    const { world } = current;
    const { config } = world;
    const eve = world.as('eve');
    const { key } = await openAs(world, eve, 'names');
    const propose = (senior: string) =>
      proposeTicket({
        services: eve,
        config,
        key,
        runbook: 'mark-done',
        params: [`dir=${world.markerDir}`],
        proposerSigner: world.eve,
        senior,
      });
    await expect(propose('eve')).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining('Eve Engineer (eve) is not a senior'),
    });
    const escalate = (to: string) =>
      escalateTicket(eve, { key, to, signer: world.eve, config, note: 'n' });
    if (kind === 'local') {
      await expect(propose('sma')).rejects.toMatchObject({
        code: 'USAGE',
        message: expect.stringContaining('--senior sma is not in'),
      });
      await expect(propose('sma')).rejects.toThrow('did you mean sam?');
      await expect(escalate('leee')).rejects.toThrow('--to leee is not in');
      // Nothing moved: the ticket is Open, unassigned to any misspelt name.
      expect((await eve.tracker.get(key)).status).toBe('Open');
      expect((await eve.tracker.get(key)).assignee?.id).toBe('eve');
    }
    // A listed senior is taken as before.
    await propose('sam');
    expect((await eve.tracker.get(key)).status).toBe('Awaiting Approval');
  });

  it('finds known bugs by text and escalates to the lead, mentioned (not a raw id), with the evidence', async () => {
    const { fake, world } = current;
    const eve = world.as('mallory');
    const signal = new AbortController().signal;
    const open = (summary: string, labels: string[]) =>
      openTicket({
        services: eve,
        config: world.config,
        env: world.env,
        executorSigner: world.eve,
        signal,
        summary,
        labels,
      });
    const bug = await open('nginx worker leaks memory under http2', ['bug']);
    await open('nginx config typo', ['task']);
    const found = await searchBugs(eve, 'nginx: memory*');
    expect(found.tickets.map((t) => t.key)).toEqual([bug.key]);
    const report = await escalateTicket(eve, {
      key: bug.key,
      to: 'lee',
      signer: world.eve,
      config: world.config,
      note: 'looks like upstream bug',
    });
    expect(report.pending).toEqual([]);
    expect((await eve.tracker.get(bug.key)).assignee?.id).toBe(world.cast.lead);
    const trail = await trailOf(world, fake, bug.key);
    const body = trail.raw.at(-1);
    // 6. A mention node (Cloud), [~lee] (Data Center): Jira shows and notifies the lead.
    expect(mentionsIn(body)).toEqual([world.cast.lead]);
    if (kind === 'cloud') expect(textNodesOf(body)).not.toContain(world.cast.lead);
    if (kind === 'datacenter') expect(body).toContain('[~lee]');
    expect(plainText(body)).toMatch(/^Escalated to (@Lee Lead|\[~lee\]) by /);
    expect(plainText(body)).toContain(
      `by Eve Engineer (eve, key ${world.eve.publicKey.fingerprint})`,
    );
    expect(plainText(body)).toContain('looks like upstream bug');
    const history = await readHistory(eve.tracker, bug.key);
    expect(history.at(-1)).toMatchObject({
      step: 'escalated',
      by: { id: 'eve' },
      to: world.cast.lead,
    });
    const trust = parseTrustStore(await readFile(world.config.trustStore), world.config.trustStore);
    expect(isProvenStep(history.at(-1)!, trust)).toBe(true);
  });
});
