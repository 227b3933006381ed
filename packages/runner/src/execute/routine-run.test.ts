import { parseInventoryText } from '@opsbook/inventory';
import { describe, expect, it } from 'vitest';
import { groupMembers, requireStandingApproval } from './routine-run.js';

describe('requireStandingApproval', () => {
  it('refuses with STANDING_APPROVAL_MISSING and says how to create one', () => {
    const config = { raw: {}, root: '/repo' } as unknown as Parameters<
      typeof requireStandingApproval
    >[0];
    expect(() => requireStandingApproval(config, 'daily-inspection')).toThrowError(
      expect.objectContaining({
        code: 'STANDING_APPROVAL_MISSING',
        message: expect.stringContaining('--standing'),
      }),
    );
  });
  it('resolves the configured file against the repository root', () => {
    const config = {
      raw: { standing: { 'resource-inventory': 'approvals/r.json' } },
      root: '/repo',
    } as unknown as Parameters<typeof requireStandingApproval>[0];
    expect(requireStandingApproval(config, 'resource-inventory')).toBe('/repo/approvals/r.json');
  });
});

describe('groupMembers', () => {
  it('includes the hosts of child groups', () => {
    const inv = parseInventoryText(
      'hosts.ini',
      '[web]\nw1\n[db]\nd1\n[prod:children]\nweb\ndb\n',
      'ini',
    );
    const groups = groupMembers(inv as Parameters<typeof groupMembers>[0]);
    expect(groups.prod?.sort()).toEqual(['d1', 'w1']);
    expect(groups.web).toEqual(['w1']);
  });
});
