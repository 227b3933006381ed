import { describe, expect, it } from 'vitest';
import { roundOf, type StoredDelivery } from './alert-round.js';

const AM1 = 'http://am-1:9093';
const AM2 = 'http://am-2:9093';
const E1 = '2024-05-01T10:03:00Z';

const firing = (round: number, sender?: string): StoredDelivery => ({
  status: 'firing',
  round,
  ...(sender ? { sender } : {}),
});
const resolved = (round: number, endsAt: string, sender?: string): StoredDelivery => ({
  status: 'resolved',
  round,
  endsAt,
  ...(sender ? { sender } : {}),
});

describe('roundOf', () => {
  it('starts at round 0, repeats a firing in its round, and fires the next round after a resolution', () => {
    expect(roundOf([], { status: 'firing' })).toBe(0);
    expect(roundOf([firing(0)], { status: 'firing' })).toBe(0);
    expect(roundOf([firing(0), resolved(0, E1)], { status: 'firing' })).toBe(1);
    expect(roundOf([firing(0), resolved(0, E1)], { status: 'resolved', endsAt: E1 })).toBe(0);
  });

  it("takes a resolution with an earlier round's endsAt after a firing again as that resolution, late", () => {
    const stored = [firing(0, AM1), resolved(0, E1, AM1), firing(1, AM1)];
    expect(roundOf(stored, { status: 'resolved', endsAt: E1, sender: AM2 })).toBe(0);
    expect(roundOf(stored, { status: 'resolved', endsAt: '2024-05-01T10:09:00Z' })).toBe(1);
  });

  it('keeps a firing again through the other Alertmanager (the first one failed over) when the first one sends its resolution again', () => {
    const stored = [firing(0, AM1), resolved(0, E1, AM1), firing(1, AM2)];
    expect(roundOf(stored, { status: 'resolved', endsAt: E1, sender: AM1 })).toBe(0);
  });

  it('ends a late firing of one Alertmanager with its own resolution of it, and not when no externalURL tells them apart', () => {
    const stored = [firing(0, AM1), resolved(0, E1, AM1), firing(1, AM2)];
    expect(roundOf(stored, { status: 'resolved', endsAt: E1, sender: AM2 })).toBe(1);
    const unnamed = [firing(0), resolved(0, E1), firing(1)];
    expect(roundOf(unnamed, { status: 'resolved', endsAt: E1 })).toBe(0);
  });
});
