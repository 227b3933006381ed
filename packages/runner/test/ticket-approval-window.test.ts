import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { approveTicket, type SigningView } from '../src/index.js';
import { trailOf } from './ticket-trail.js';
import { proposeMarkDone, useTicketWorld } from './ticket-world.js';

/*
 * The run limit and the validity window are part of what a senior signs: the proposal comment
 * they review states both, and `ticket approve` shows both (as the senior's --expires and
 * --max-runs leave them) before the signature is made, not only in the comment after it.
 */

const proposedAt = new Date('2026-03-02T09:00:00Z');
const approvedAt = new Date('2026-03-03T15:30:00Z');

describe('the run limit and validity window of a ticket approval', () => {
  const current = useTicketWorld('local');

  /** An open ticket with eve's proposal of mark-done for 50 runs over 7 days. */
  async function proposed() {
    const { world } = current;
    const services = world.as('eve');
    const { key } = await services.tracker.create({ summary: 'web-01: marker missing' });
    await proposeMarkDone(world, services, key, { maxRuns: 50, expires: '7d', now: proposedAt });
    return { key, services };
  }

  it('are in the proposal comment the senior reviews', async () => {
    const { world } = current;
    const { key } = await proposed();
    const { comments } = await trailOf(world, undefined, key);
    const proposal = comments.find((c) => c.includes('Proposed plan: mark-done'));
    expect(proposal).toContain(
      'valid 2026-03-02T09:00:00Z to 2026-03-09T09:00:00Z, at most 50 run(s), as proposed',
    );
  });

  it('are shown by ticket approve before it signs, as proposed or as the senior changes them', async () => {
    const { world } = current;
    for (const senior of [{}, { maxRuns: 3, expires: '2d' }]) {
      const { key, services } = await proposed();
      const file = path.join(world.config.stateDir, 'tickets', key);
      const seen: Array<{ view: SigningView; signaturesInFile: number }> = [];
      const approved = await approveTicket({
        services,
        config: world.config,
        key,
        signer: world.sam,
        now: approvedAt,
        ...senior,
        async onBeforeSign(view) {
          const envelope = JSON.parse(
            await readFile(path.join(file, `${view.statement.id}.approval.json`), 'utf8'),
          ) as { signatures: unknown[] };
          seen.push({ view, signaturesInFile: envelope.signatures.length });
        },
      });
      // Once, before the file held a signature, with the statement that was then signed.
      expect(seen).toHaveLength(1);
      expect(seen[0]!.signaturesInFile).toBe(0);
      const { statement } = seen[0]!.view;
      expect(statement).toEqual(approved.statement);
      expect(seen[0]!.view.plan.runbook.name).toBe('mark-done');
      if ('maxRuns' in senior) {
        expect(statement).toMatchObject({
          maxRuns: 3,
          notBefore: '2026-03-03T15:30:00Z',
          expiresAt: '2026-03-05T15:30:00Z',
        });
      } else {
        expect(statement).toMatchObject({
          maxRuns: 50,
          notBefore: '2026-03-02T09:00:00Z',
          expiresAt: '2026-03-09T09:00:00Z',
        });
      }
    }
  });

  it('shows nothing for signing when the signature is refused (a window longer than the policy allows)', async () => {
    const { world } = current;
    const { key, services } = await proposed();
    const views: SigningView[] = [];
    await expect(
      approveTicket({
        services,
        config: world.config,
        key,
        signer: world.sam,
        now: approvedAt,
        expires: '30d',
        onBeforeSign: (view) => void views.push(view),
      }),
    ).rejects.toMatchObject({ code: 'VALIDITY_TOO_LONG' });
    expect(views).toEqual([]);
  });

  it('tells the senior who asked for too long a window to sign with a shorter one, not to find another senior', async () => {
    const { world } = current;
    const { key, services } = await proposed();
    const message = await approveTicket({
      services,
      config: world.config,
      key,
      signer: world.sam,
      now: approvedAt,
      expires: '30d',
    }).catch((e: Error) => e.message);
    expect(message).toMatch(
      /policy allows at most 7d for \w+ P\d: sign with --expires 7d or less$/,
    );
    expect(message).not.toContain('ask a senior');
  });
});
