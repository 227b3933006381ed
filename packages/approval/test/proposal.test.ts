import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEnvelope,
  type Envelope,
  reviseStatement,
  serializeEnvelope,
  signEnvelope,
  signProposal,
  type VerifyResult,
  verifyApproval,
} from '../src/index.js';
import { approval, context, createWorld, type Person, type World } from './approval-world.js';

/*
 * Issue 14, item 2: the proposer is proven by a key like the approvers and the executor, so that
 * "proposer ≠ approver" is checked on keys and people, not on a name anyone can type.
 */

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(async () => {
  await world?.remove();
});

function codeOf(result: VerifyResult): string {
  return result.ok ? 'ok' : `${result.code}: ${result.message}`;
}

async function approvedBy(envelope: Envelope, ...seniors: Person[]): Promise<string> {
  let e = envelope;
  for (const s of seniors) e = await signEnvelope(e, s.signer);
  return serializeEnvelope(e);
}

describe('the proposer is whoever signed the proposal', () => {
  it('accepts a plan proposed by a listed engineer and approved by a senior', async () => {
    const s = approval({ proposer: 'grace' });
    const text = await approvedBy(
      await signProposal(createEnvelope(s), s, world.people.grace.signer),
      world.people.alice,
    );
    const result = verifyApproval(text, context(world));
    expect(codeOf(result)).toBe('ok');
    if (result.ok) expect(result.proposer).toMatchObject({ id: 'grace' });
  });

  it('refuses an approval without a proposal signature', async () => {
    const text = await approvedBy(createEnvelope(approval()), world.people.alice);
    expect(codeOf(verifyApproval(text, context(world)))).toMatch(/^PROPOSER_UNPROVEN: /);
  });

  it('refuses a senior who names the engineer as proposer but signs the proposal himself', async () => {
    const s = approval({ proposer: 'grace' });
    const text = await approvedBy(
      await signProposal(createEnvelope(s), s, world.people.alice2.signer),
      world.people.alice,
    );
    expect(codeOf(verifyApproval(text, context(world)))).toMatch(
      /^PROPOSER_UNPROVEN: .*signed by alice/,
    );
  });

  it('refuses a senior approving what she proposed with her other key', async () => {
    const s = approval({ proposer: 'alice' });
    const text = await approvedBy(
      await signProposal(createEnvelope(s), s, world.people.alice2.signer),
      world.people.alice,
    );
    expect(codeOf(verifyApproval(text, context(world)))).toMatch(/^SELF_APPROVAL: .*proposed it/);
  });

  it('refuses a proposal by a key the trust store does not list, or a revoked one', async () => {
    const s = approval({ proposer: 'mallory' });
    const unknown = await approvedBy(
      await signProposal(createEnvelope(s), s, world.people.mallory.signer),
      world.people.alice,
    );
    expect(codeOf(verifyApproval(unknown, context(world)))).toMatch(/^PROPOSER_UNPROVEN: /);
    const r = approval({ proposer: 'erin' });
    const revoked = await approvedBy(
      await signProposal(createEnvelope(r), r, world.people.erin.signer),
      world.people.alice,
    );
    expect(codeOf(verifyApproval(revoked, context(world)))).toMatch(/^KEY_REVOKED: /);
  });

  it('keeps the proposal valid when the senior sets the window and run count, not otherwise', async () => {
    const s = approval({ proposer: 'grace' });
    const proposed = await signProposal(createEnvelope(s), s, world.people.grace.signer);
    const revised = reviseStatement(s, { expires: '2h', maxRuns: 1 });
    const kept = await approvedBy(
      { ...createEnvelope(revised), proposal: proposed.proposal! },
      world.people.alice,
    );
    expect(codeOf(verifyApproval(kept, context(world)))).toBe('ok');
    // Another ticket under the old proposal signature: the proposer never proposed that.
    const moved = { ...s, ticket: 'OPS-43' };
    const text = await approvedBy(
      { ...createEnvelope(moved), proposal: proposed.proposal! },
      world.people.alice,
    );
    expect(codeOf(verifyApproval(text, context(world, {}, { ticket: 'OPS-43' })))).toMatch(
      /^PROPOSER_UNPROVEN: .*changed after planning/,
    );
  });
});
