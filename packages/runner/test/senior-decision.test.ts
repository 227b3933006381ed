import path from 'node:path';
import { loadTrustedStore } from '@opsbook/approval';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  isProvenSeniorDecision,
  seniorDecisionChecker,
  signSeniorDecision,
  unprovenDecisions,
} from '../src/index.js';
import { signStep } from '../src/ticket/ticket-people.js';
import { startTicketWorld, type TicketWorld } from './ticket-world.js';

let world: TicketWorld;
beforeEach(async () => {
  world = await startTicketWorld();
});
afterEach(() => world.close());

describe("a senior's recorded decision (an alert re-grade)", () => {
  it('is proven only as signed, by a current key of the senior it names', async () => {
    const { config } = world;
    const { store } = await loadTrustedStore(config.trustPinDir, config.trustStore);
    const decision = await signSeniorDecision(config, world.sam, () => ({
      grade: 'P2',
      reason: 'one replica of three',
      at: '2026-12-05T07:00:00Z',
    }));
    expect(isProvenSeniorDecision(decision, store)).toBe(true);
    expect(await seniorDecisionChecker(config)(decision)).toBe(true);
    // Edited after signing: another grade, another senior named, no proof, a made-up proof.
    expect(isProvenSeniorDecision({ ...decision, grade: 'P4' }, store)).toBe(false);
    expect(isProvenSeniorDecision({ ...decision, by: { ...decision.by, id: 'vic' } }, store)).toBe(
      false,
    );
    const { proof: _proof, ...unsigned } = decision;
    expect(isProvenSeniorDecision(unsigned, store)).toBe(false);
    expect(
      isProvenSeniorDecision(
        { ...decision, proof: { ...decision.proof, sshsig: 'FORGED' } },
        store,
      ),
    ).toBe(false);
    // eve signs a record naming herself: a valid signature, but eve is no senior.
    const by = { id: 'eve', name: 'Eve Engineer', fingerprint: world.eve.publicKey.fingerprint };
    const record = { grade: 'P4', reason: 'mine', at: '2026-12-05T07:00:00Z', by };
    const byEve = { ...record, proof: await signStep(world.eve, record) };
    expect(isProvenSeniorDecision(byEve, store)).toBe(false);
  });

  it('says why a decision is not proven, and that none can be checked where nothing is pinned', async () => {
    const { config } = world;
    const good = await signSeniorDecision(config, world.sam, () => ({
      grade: 'P3',
      reason: 'checked',
      at: '2026-12-05T07:00:00Z',
    }));
    const forged = { ...good, grade: 'P4' };
    const why = await unprovenDecisions(config, [good, forged]);
    expect(why.has(good)).toBe(false);
    expect(why.get(forged)).toMatch(/^UNPROVEN: no valid signature of a listed senior/);
    const unpinned = { ...config, trustPinDir: path.join(world.dir, 'no-pin-here') };
    expect((await unprovenDecisions(unpinned, [good])).get(good)).toMatch(
      /^not checked here: no trust store is pinned on this machine/,
    );
  });
});
