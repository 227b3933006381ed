import { describe, expect, it } from 'vitest';
import { acceptTicket } from '../src/index.js';
import { useTicketWorld } from './ticket-world.js';

/*
 * A refused `ticket accept` advises only what is still missing: a ticket whose plan waits for a
 * senior is not told to propose it again, an approved one is told to run it.
 */

describe('ticket accept before In Review advises from where the ticket is', () => {
  const current = useTicketWorld('local');

  async function refusalAt(roles: ('awaitingApproval' | 'approved' | 'inProgress')[]) {
    const { world } = current;
    const { tracker } = world.as('vic');
    const { key } = await tracker.create({ summary: 'web-01: marker missing' });
    for (const role of roles) await tracker.transition(key, tracker.statuses[role]);
    const message = await acceptTicket({
      services: world.as('vic'),
      config: world.config,
      key,
      signer: world.vic,
    }).catch((e: Error) => e.message);
    return { key, message };
  }

  it('Awaiting Approval: a senior approves it, then it runs; no new proposal', async () => {
    const { key, message } = await refusalAt(['awaitingApproval']);
    expect(message).toContain(`opsbook ticket approve ${key}`);
    expect(message).toContain(`opsbook ticket run ${key}`);
    expect(message).not.toContain('ticket propose');
  });

  it('Approved: run it', async () => {
    const { key, message } = await refusalAt(['awaitingApproval', 'approved']);
    expect(message).toContain(`opsbook ticket run ${key}`);
    expect(message).not.toContain('ticket propose');
    expect(message).not.toContain('ticket approve');
  });
});
