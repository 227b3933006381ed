import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  APPROVAL_PROPERTY,
  approveTicket,
  bindingOf,
  createPlan,
  PROPOSAL_PROPERTY,
  readHistory,
  serializeApproval,
  type TicketApproval,
  type TicketProposal,
  type TicketServices,
} from '../src/index.js';
import { trailOf } from './ticket-trail.js';
import { proposeMarkDone, type TicketWorld, useTicketWorld } from './ticket-world.js';

/*
 * A senior signs the plan they reviewed in the proposal comment, not whatever envelope the
 * ticket's `opsbook.proposal` property holds when they approve: anyone who may edit the issue
 * can write that property. A swapped envelope is refused before anything is signed, the senior
 * may pin the digest they reviewed, and every record of the approval names the digest signed.
 */

/** eve's proposal on a new ticket, and a second plan of hers (another dir) made for the same ticket. */
async function proposedWithSwap(world: TicketWorld, services: TicketServices) {
  const { key } = await services.tracker.create({ summary: 'web-01: marker missing' });
  const proposed = await proposeMarkDone(world, services, key);
  const other = await createPlan({
    config: world.config,
    runbook: 'mark-done',
    ticket: key,
    params: [`dir=${path.join(world.markerDir, 'elsewhere')}`],
    tracker: bindingOf(services.tracker),
    proposerSigner: world.eve,
  });
  expect(other.planDigest).not.toBe(proposed.planDigest);
  return { key, proposed, other };
}

async function swapEnvelope(
  services: TicketServices,
  key: string,
  envelope: string,
  record: Partial<TicketProposal> = {},
) {
  const proposal = (await services.tracker.getProperty(key, PROPOSAL_PROPERTY)) as TicketProposal;
  await services.tracker.setProperty(key, PROPOSAL_PROPERTY, { ...proposal, envelope, ...record });
}

function approveAsSam(world: TicketWorld, services: TicketServices, key: string, more = {}) {
  return approveTicket({ services, config: world.config, key, signer: world.sam, ...more });
}

describe('ticket approve signs the proposed plan only', () => {
  const current = useTicketWorld('local');

  it("refuses an envelope whose statement is not the proposal record's (approval id, plan digest), signing nothing", async () => {
    const { world } = current;
    const services = world.as('sam');
    const { key, other } = await proposedWithSwap(world, services);
    await swapEnvelope(services, key, serializeApproval(other.envelope));
    const before = (await trailOf(world, undefined, key)).comments.length;
    const signing: unknown[] = [];
    const refusal = await approveAsSam(world, services, key, {
      onBeforeSign: (v: unknown) => void signing.push(v),
    }).catch((e: unknown) => e);
    expect(refusal).toMatchObject({ code: 'PROPOSAL_TAMPERED', kind: 'refused' });
    expect((refusal as Error).message).toContain(other.planDigest);
    expect((refusal as Error).message).toMatch(/nothing was signed/);
    expect(signing).toEqual([]);
    expect(await services.tracker.getProperty(key, APPROVAL_PROPERTY)).toBeUndefined();
    expect((await trailOf(world, undefined, key)).comments.length).toBe(before);
    expect((await services.tracker.get(key)).status).toBe('Awaiting Approval');
  });

  it('refuses a proposal record rewritten whole when the proposal comment opsbook posted names another plan', async () => {
    const { world } = current;
    const services = world.as('sam');
    const { key, proposed, other } = await proposedWithSwap(world, services);
    await swapEnvelope(services, key, serializeApproval(other.envelope), {
      approvalId: other.statement.id,
      planDigest: other.planDigest,
    });
    const refusal = await approveAsSam(world, services, key).catch((e: unknown) => e);
    expect(refusal).toMatchObject({ code: 'PROPOSAL_TAMPERED' });
    expect((refusal as Error).message).toContain(proposed.planDigest);
    expect(await services.tracker.getProperty(key, APPROVAL_PROPERTY)).toBeUndefined();
  });

  it('signs only the digest the senior pins with planDigest (a prefix of 12 hex digits is enough)', async () => {
    const { world } = current;
    const services = world.as('sam');
    const { key, proposed, other } = await proposedWithSwap(world, services);
    const pinOther = other.planDigest.slice(0, 'sha256:'.length + 12);
    const refusal = await approveAsSam(world, services, key, { planDigest: pinOther }).catch(
      (e: unknown) => e,
    );
    expect(refusal).toMatchObject({ code: 'PLAN_NOT_REVIEWED', kind: 'refused' });
    expect((refusal as Error).message).toContain(proposed.planDigest);
    await expect(
      approveAsSam(world, services, key, { planDigest: proposed.planDigest.slice(0, 10) }),
    ).rejects.toMatchObject({ kind: 'invalid' });
    expect(await services.tracker.getProperty(key, APPROVAL_PROPERTY)).toBeUndefined();
    const approved = await approveAsSam(world, services, key, {
      planDigest: proposed.planDigest.slice('sha256:'.length, 'sha256:'.length + 16),
    });
    expect(approved.approval.complete).toBe(true);
  });

  it('names the digest it signed in the comment, the history and the approval property', async () => {
    const { world } = current;
    const services = world.as('sam');
    const { key } = await services.tracker.create({ summary: 'web-01: marker missing' });
    const proposed = await proposeMarkDone(world, services, key);
    const approved = await approveAsSam(world, services, key);
    const signed = approved.statement.plan?.digest;
    expect(signed).toBe(proposed.planDigest);
    const property = (await services.tracker.getProperty(key, APPROVAL_PROPERTY)) as TicketApproval;
    expect(property).toMatchObject({ approvalId: approved.statement.id, planDigest: signed });
    const step = (await readHistory(services.tracker, key)).at(-1);
    expect(step).toMatchObject({
      step: 'approved',
      approvalId: approved.statement.id,
      planDigest: signed,
    });
    const comment = (await trailOf(world, undefined, key)).comments.at(-1);
    expect(comment).toContain(`Plan ${signed} (approval ${approved.statement.id}`);
  });
});

describe.each(['cloud', 'datacenter'] as const)(
  'ticket approve on Jira %s reads the proposal comment',
  (flavour) => {
    const current = useTicketWorld(flavour);

    it('refuses a proposal record rewritten whole when the proposal comment names another plan', async () => {
      const { world } = current;
      const services = world.as('sam');
      const { key, proposed, other } = await proposedWithSwap(world, services);
      await swapEnvelope(services, key, serializeApproval(other.envelope), {
        approvalId: other.statement.id,
        planDigest: other.planDigest,
      });
      const refusal = await approveAsSam(world, services, key).catch((e: unknown) => e);
      expect(refusal).toMatchObject({ code: 'PROPOSAL_TAMPERED' });
      expect((refusal as Error).message).toContain(proposed.planDigest);
    });
  },
);
