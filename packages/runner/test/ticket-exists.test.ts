import { isOpsbookError } from '@opsbook/schema';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { afterEach, describe, expect, it } from 'vitest';
import {
  APPROVAL_PROPERTY,
  checkTicketExists,
  checkTicketReady,
  refuseMissingTicket,
} from '../src/index.js';
import { startTicketWorld, type TicketWorld } from './ticket-world.js';

/**
 * Issue #17 item 9: plan and approve ask the tracker first whether the ticket exists, because
 * run refuses an approval whose ticket does not (TRACKER_TICKET_NOT_FOUND) after a senior's
 * signature was spent on it.
 */
let fake: JiraFake | undefined;
let world: TicketWorld | undefined;

afterEach(async () => {
  await world?.close();
  world = undefined;
  try {
    await fake?.closeExpectingNone();
  } finally {
    fake = undefined;
  }
});

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isOpsbookError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a refusal');
}

describe.each([['cloud'], ['datacenter']] as const)('with a %s Jira', (flavour) => {
  it('finds an existing ticket, and refuses to sign for one Jira does not have', async () => {
    fake = await startJiraFake({ flavour });
    world = await startTicketWorld(fake);
    const services = world.as('sam');
    const { key } = await services.tracker.create({ summary: 'disk full on db-3' });
    expect(await checkTicketExists(services, key)).toEqual({ found: true });
    expect(await refuseMissingTicket(services, key)).toEqual({ found: true });

    const missing = await checkTicketExists(services, 'OPS-9999');
    expect(missing).toMatchObject({ found: false, missing: true });
    const r = await refusal(refuseMissingTicket(services, 'OPS-9999'));
    expect(r.code).toBe('TRACKER_TICKET_NOT_FOUND');
    expect(r.message).toMatch(/^not signed: OPS-9999 does not exist in the tracker/);
  });

  it('only warns when Jira does not answer: run checks the ticket again', async () => {
    fake = await startJiraFake({ flavour });
    world = await startTicketWorld(fake);
    const services = world.as('sam');
    await fake.close();
    const check = await refuseMissingTicket(services, 'OPS-1');
    expect(check).toMatchObject({ found: false, missing: false });
    expect(!check.found && check.message).toContain('could not check that OPS-1 exists');
    expect(!check.found && check.message).toContain('opsbook run checks it again');
    fake = undefined;
  });
});

describe('with the local tracker', () => {
  it("warns instead of refusing to sign: it is this machine's, and the plan may come from another", async () => {
    world = await startTicketWorld();
    const services = world.as('sam');
    const check = await refuseMissingTicket(services, 'OPS-77');
    expect(check).toMatchObject({ found: false, missing: true });
    expect(!check.found && check.message).toContain(
      "OPS-77 is not in this machine's local tracker: if it was planned on another machine, opsbook run checks it there",
    );
  });
});

/**
 * The newcomer's first workflow: approve said "Run it: opsbook run …" on a ticket still Open, and
 * run then refused it (TICKET_NOT_APPROVED). approve now reads the ticket as run will.
 */
describe('checkTicketReady, for the next steps approve prints', () => {
  const APPROVAL_ID = 'RoHwnUdLO6WmPLY4qG6fvQ';
  const bound = (services: ReturnType<TicketWorld['as']>) => ({
    kind: services.tracker.kind,
    site: services.tracker.site,
    statuses: { approved: 'Approved', inProgress: 'In Progress' },
  });

  it('on the local tracker, names the ticket flow that moves an Open ticket', async () => {
    world = await startTicketWorld();
    const services = world.as('sam');
    const { key } = await services.tracker.create({ summary: 'disk full on db-3' });
    const ready = await checkTicketReady(services, {
      id: APPROVAL_ID,
      ticket: key,
      tracker: bound(services),
    });
    expect(ready).toMatchObject({ ready: false, status: 'Open' });
    const message = !ready.ready ? ready.message : '';
    expect(message).toContain(
      `opsbook run refuses this approval while ${key} is "Open" (it starts only on "Approved" or "In Progress")`,
    );
    expect(message).toContain(`opsbook ticket propose ${key}`);
    expect(message).toContain(`opsbook ticket approve ${key}`);
  });

  it.each([['cloud'], ['datacenter']] as const)(
    'with a %s Jira, says who moves the ticket, and is ready once it is Approved',
    async (flavour) => {
      fake = await startJiraFake({ flavour });
      world = await startTicketWorld(fake);
      const services = world.as('sam');
      const { key } = await services.tracker.create({ summary: 'disk full on db-3' });
      const open = await checkTicketReady(services, {
        id: APPROVAL_ID,
        ticket: key,
        tracker: bound(services),
      });
      expect(!open.ready && open.message).toContain(
        `a senior moves ${key} to "Approved" in the tracker`,
      );
      await services.tracker.transition(key, services.tracker.statuses.awaitingApproval);
      await services.tracker.transition(key, services.tracker.statuses.approved);
      expect(
        await checkTicketReady(services, {
          id: APPROVAL_ID,
          ticket: key,
          tracker: bound(services),
        }),
      ).toEqual({
        ready: true,
        status: 'Approved',
      });
    },
  );

  it('is not ready on an Approved ticket that carries another approval, or rejected this one: run refuses those (APPROVAL_NOT_CURRENT)', async () => {
    world = await startTicketWorld();
    const services = world.as('sam');
    const { key } = await services.tracker.create({ summary: 'disk full on db-3' });
    await services.tracker.transition(key, services.tracker.statuses.awaitingApproval);
    await services.tracker.transition(key, services.tracker.statuses.approved);
    const statement = { id: APPROVAL_ID, ticket: key, tracker: bound(services) };
    const carried = { envelope: '{}', signers: ['sam'], complete: true };
    await services.tracker.setProperty(key, APPROVAL_PROPERTY, {
      ...carried,
      approvalId: 'M_C77V6We95A-gMZC-LCyg',
    });
    const other = await checkTicketReady(services, statement);
    expect(other).toMatchObject({ ready: false, status: 'Approved', notCurrent: true });
    const message = !other.ready ? other.message : '';
    expect(message).toContain(
      `${key} carries approval M_C77V6We95A-gMZC-LCyg, not this one (${APPROVAL_ID}), so this file will not run`,
    );
    expect(message).toContain(`opsbook ticket run ${key}`);
    expect(message).toContain(`propose this plan on ${key} again`);

    await services.tracker.setProperty(key, APPROVAL_PROPERTY, {
      ...carried,
      approvalId: APPROVAL_ID,
      rejected: '2026-01-02T03:04:05Z',
    });
    const rejected = await checkTicketReady(services, statement);
    expect(!rejected.ready && rejected.message).toContain(
      `a senior rejected approval ${APPROVAL_ID} on ${key}`,
    );

    await services.tracker.setProperty(key, APPROVAL_PROPERTY, {
      ...carried,
      approvalId: APPROVAL_ID,
    });
    expect(await checkTicketReady(services, statement)).toEqual({
      ready: true,
      status: 'Approved',
    });
  });
});
