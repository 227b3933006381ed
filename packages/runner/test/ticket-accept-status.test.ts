import { describe, expect, it } from 'vitest';
import { acceptTicket } from '../src/index.js';
import { useTicketWorld } from './ticket-world.js';

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
  });
});
