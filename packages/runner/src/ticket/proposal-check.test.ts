import { describe, expect, it } from 'vitest';
import { parsePlanDigestPin, refuseSwappedProposal, refuseUnpinnedPlan } from './proposal-check.js';

const digest = `sha256:${'1432'.repeat(16)}`;
const proposal = { approvalId: 'A1', planDigest: digest, proposer: 'erin' };
const statement = { id: 'A1', plan: { digest }, proposer: 'erin' };

describe('the envelope ticket approve is about to sign', () => {
  it('passes when it is the proposal and the proposal comment names it', () => {
    expect(() =>
      refuseSwappedProposal('OPS-2', proposal, statement, { approvalId: 'A1', planDigest: digest }),
    ).not.toThrow();
  });

  it.each([
    ['another approval id', { ...statement, id: 'B2' }, undefined],
    [
      'another plan digest',
      { ...statement, plan: { digest: `sha256:${'5f4a'.repeat(16)}` } },
      undefined,
    ],
    ['no plan digest', { id: 'A1', proposer: 'erin' }, undefined],
    ['another proposer', { ...statement, proposer: 'mallory' }, undefined],
    ['a comment naming another plan', statement, { approvalId: 'A0', planDigest: digest }],
    // Deleted, or a ticket set to awaiting approval by hand beside a forged property.
    ['no proposal comment on the ticket', statement, undefined],
  ])('is refused with %s', (_what, s, comment) => {
    expect(() => refuseSwappedProposal('OPS-2', proposal, s as typeof statement, comment)).toThrow(
      expect.objectContaining({ code: 'PROPOSAL_TAMPERED', kind: 'refused' }),
    );
  });

  it('matches a pinned digest by prefix, with or without sha256:, and refuses a short pin', () => {
    expect(() => refuseUnpinnedPlan('OPS-2', '143214321432', digest)).not.toThrow();
    expect(() => refuseUnpinnedPlan('OPS-2', 'SHA256:1432143214321432', digest)).not.toThrow();
    expect(() => refuseUnpinnedPlan('OPS-2', 'sha256:5f4acc5f4acc', digest)).toThrow(
      expect.objectContaining({ code: 'PLAN_NOT_REVIEWED' }),
    );
    expect(() => parsePlanDigestPin('sha256:14321432')).toThrow(
      expect.objectContaining({ kind: 'invalid' }),
    );
  });
});
