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

/** What the re-grades of these tests decide on (an alert incident's, as @opsbook/alerts signs). */
const about = { kind: 'alert-regrade', incident: 'INC-1', ticket: 'OPS-1', from: 'P1' };

describe("a senior's recorded decision (an alert re-grade)", () => {
  it('is proven only as signed, by a current key of the senior it names', async () => {
    const { config } = world;
    const { store } = await loadTrustedStore(config.trustPinDir, config.trustStore);
    const decision = await signSeniorDecision(config, world.sam, () => ({
      ...about,
      grade: 'P2',
      reason: 'one replica of three',
      at: '2026-12-05T07:00:00Z',
    }));
    expect(isProvenSeniorDecision(decision, about, store)).toBe(true);
    expect(await seniorDecisionChecker(config)(decision, about)).toBe(true);
    // Edited after signing: another grade, another senior named, no proof, a made-up proof.
    expect(isProvenSeniorDecision({ ...decision, grade: 'P4' }, about, store)).toBe(false);
    expect(
      isProvenSeniorDecision({ ...decision, by: { ...decision.by, id: 'vic' } }, about, store),
    ).toBe(false);
    const { proof: _proof, ...unsigned } = decision;
    expect(isProvenSeniorDecision(unsigned, about, store)).toBe(false);
    expect(
      isProvenSeniorDecision(
        { ...decision, proof: { ...decision.proof, sshsig: 'FORGED' } },
        about,
        store,
      ),
    ).toBe(false);
    // eve signs a record naming herself: a valid signature, but eve is no senior.
    const by = { id: 'eve', name: 'Eve Engineer', fingerprint: world.eve.publicKey.fingerprint };
    const record = { ...about, grade: 'P4', reason: 'mine', at: '2026-12-05T07:00:00Z', by };
    const byEve = { ...record, proof: await signStep(world.eve, record) };
    expect(isProvenSeniorDecision(byEve, about, store)).toBe(false);
  });

  it('is not proven on another subject than it was signed for, nor signed for none', async () => {
    const { config } = world;
    const { store } = await loadTrustedStore(config.trustPinDir, config.trustStore);
    const decision = await signSeniorDecision(config, world.sam, () => ({
      ...about,
      grade: 'P4',
      reason: 'lab cluster',
      at: '2026-12-05T07:00:00Z',
    }));
    const check = seniorDecisionChecker(config);
    for (const other of [
      { ...about, incident: 'INC-2' },
      { ...about, ticket: 'OPS-2' },
      { ...about, from: 'P3' },
      { ...about, kind: 'ticket-step' },
    ]) {
      expect(isProvenSeniorDecision(decision, other, store)).toBe(false);
      expect(await check(decision, other)).toBe(false);
    }
    // An older opsbook's re-grade: signed, by a senior, but over no subject.
    const older = await signSeniorDecision(config, world.sam, () => ({
      grade: 'P4',
      reason: 'lab cluster',
      at: '2026-12-05T07:00:00Z',
    }));
    expect(isProvenSeniorDecision(older, about, store)).toBe(false);
    expect((await unprovenDecisions(config, [{ decision: older, about }])).get(older)).toMatch(
      /^UNPROVEN: not signed for this incident, ticket and earlier grade; .*\(REGRADE_UNPROVEN\)$/,
    );
  });

  it('says why a decision is not proven, and that none can be checked where nothing is pinned', async () => {
    const { config } = world;
    const good = await signSeniorDecision(config, world.sam, () => ({
      ...about,
      grade: 'P3',
      reason: 'checked',
      at: '2026-12-05T07:00:00Z',
    }));
    const forged = { ...good, grade: 'P4' };
    const why = await unprovenDecisions(config, [
      { decision: good, about },
      { decision: forged, about },
    ]);
    expect(why.has(good)).toBe(false);
    expect(why.get(forged)).toMatch(/^UNPROVEN: no valid signature of a listed senior/);
    const unpinned = { ...config, trustPinDir: path.join(world.dir, 'no-pin-here') };
    expect((await unprovenDecisions(unpinned, [{ decision: good, about }])).get(good)).toMatch(
      /^not checked here: no trust store is pinned on this machine/,
    );
  });
});
