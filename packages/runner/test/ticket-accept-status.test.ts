import { startJiraFake } from '@opsbook/testkit/jira';
import { describe, expect, it } from 'vitest';
import { acceptTicket } from '../src/index.js';
import { startTicketWorld, TEAM, useTicketWorld } from './ticket-world.js';

/*
 * A refused `ticket accept` says what comes next from where the ticket is: a newcomer accepting a
 * Done ticket was told to run it (opsbook ticket run), which a closed ticket can never do.
 */

describe('ticket accept on a ticket that is not In Review', () => {
  const current = useTicketWorld('local');

  /** A ticket of the local tracker moved along the workflow to `until`. */
  async function ticketAt(until: 'Open' | 'Done'): Promise<string> {
    const { tracker } = current.world.as('vic');
    const { key } = await tracker.create({ summary: 'web-01: marker missing' });
    if (until === 'Done')
      for (const role of ['awaitingApproval', 'approved', 'inProgress', 'review', 'done'] as const)
        await tracker.transition(key, tracker.statuses[role]);
    return key;
  }

  it('says a Done ticket has nothing left to accept, not to run it', async () => {
    const { world } = current;
    const key = await ticketAt('Done');
    const accepted = acceptTicket({
      services: world.as('vic'),
      config: world.config,
      key,
      signer: world.vic,
    });
    await expect(accepted).rejects.toMatchObject({ code: 'TICKET_WRONG_STATUS' });
    const message = await accepted.catch((e: Error) => e.message);
    expect(message).toContain(`${key} is "Done"`);
    expect(message).toContain('nothing left to accept');
    expect(message).toContain(`opsbook ticket show ${key}`);
    expect(message).not.toContain('ticket run');
  });

  it('says an Open ticket needs its plan proposed, approved and run first', async () => {
    const { world } = current;
    const key = await ticketAt('Open');
    const message = await acceptTicket({
      services: world.as('vic'),
      config: world.config,
      key,
      signer: world.vic,
    }).catch((e: Error) => e.message);
    expect(message).toContain(`opsbook ticket propose ${key}`);
    expect(message).toContain(`opsbook ticket approve ${key}`);
    // The local tracker's statuses are opsbook's own: no config to blame.
    expect(message).not.toContain('tracker.jira.statuses');
  });
});

describe('a Jira workflow whose statuses opsbook does not know by name', () => {
  it('says the status is none of the configured ones and where to name it (tracker.jira.statuses)', async () => {
    // A new Jira project's tickets start in "To Do"; opsbook.yaml leaves statuses at their defaults.
    const fake = await startJiraFake({
      flavour: 'cloud',
      users: TEAM,
      statuses: { open: 'To Do' },
    });
    const world = await startTicketWorld(fake);
    try {
      const services = world.as('vic');
      const { key } = await services.tracker.create({ summary: 'web-01: marker missing' });
      const accepted = acceptTicket({ services, config: world.config, key, signer: world.vic });
      await expect(accepted).rejects.toMatchObject({ code: 'TICKET_WRONG_STATUS' });
      const message = await accepted.catch((e: Error) => e.message);
      expect(message).toContain(`${key} is "To Do"`);
      expect(message).toContain('"To Do" is none of the statuses opsbook knows this workflow by');
      expect(message).toContain('open "Open"');
      expect(message).toContain('tracker.jira.statuses');
      expect(fake.violations()).toEqual([]);
    } finally {
      await fake.close();
      await world.close();
    }
  });
});
