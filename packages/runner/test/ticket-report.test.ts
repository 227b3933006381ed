import path from 'node:path';
import type { JiraFake } from '@opsbook/testkit/jira';
import { Outbox, type Tracker } from '@opsbook/tracker';
import { describe, expect, it } from 'vitest';
import {
  approveTicket,
  reportRuns,
  runTicket,
  showTicket,
  type TicketServices,
} from '../src/index.js';
import { trailOf } from './ticket-trail.js';
import { openAs, proposeMarkDone, type TicketWorld, useTicketWorld } from './ticket-world.js';

const WRITES = new Set<string | symbol>([
  'create',
  'comment',
  'attach',
  'transition',
  'setPriority',
  'assign',
  'setProperty',
  'deleteProperty',
  'addRemoteLink',
  'writeAll',
]);

/**
 * The tracker refusing writes from `down()` to `up()`. Jira: the fake is down. The local tracker:
 * its folder read-only (the fault-injection trial bind-mounted state/tracker read-only), so each
 * write fails with EROFS, as the local tracker's own write would, and the outbox keeps it.
 */
function writesRefused(
  world: TicketWorld,
  fake: JiraFake | undefined,
  services: TicketServices,
): { services: TicketServices; down(): Promise<void>; up(): Promise<void> } {
  if (fake) return { services, down: () => fake.down(), up: () => fake.up() };
  let refusing = false;
  const folder = path.join(world.config.stateDir, 'tracker');
  const tracker = new Proxy(services.tracker, {
    get(target, name) {
      const value = Reflect.get(target, name, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (refusing && WRITES.has(name)) {
          const e = Object.assign(new Error(`EROFS: read-only file system, open '${folder}'`), {
            code: 'EROFS',
            path: folder,
          });
          return Promise.reject(e);
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as Tracker;
  return {
    services: {
      ...services,
      outbox: new Outbox({ stateDir: world.config.stateDir, tracker }),
    },
    down: async () => {
      refusing = true;
    },
    up: async () => {
      refusing = false;
    },
  };
}

const trackers = [['local'], ['cloud'], ['datacenter']] as const;

describe.each(trackers)('ticket report on the %s tracker', (kind) => {
  const current = useTicketWorld(kind);

  it("delivers a run's end that waited in the outbox first, and writes nothing twice, nor on a second call", async () => {
    const { fake, world } = current;
    const { config } = world;
    const signal = new AbortController().signal;
    const eve = world.as('eve');
    const { key } = await openAs(world, eve, 'end kept in the outbox');
    await proposeMarkDone(world, eve, key);
    await approveTicket({ services: world.as('sam'), config, key, signer: world.sam });
    // The tracker refuses writes from the run's end on: its end writes stay in the outbox.
    const outage = writesRefused(world, fake, eve);
    let going: Promise<void> | undefined;
    const outcome = await runTicket({
      services: outage.services,
      config,
      key,
      env: world.env,
      executorSigner: world.eve,
      signal,
      onEvent: (e) => {
        if (e.type === 'run-end') going = outage.down();
      },
    });
    await going;
    const { runId } = outcome;
    expect(outcome.status).toBe('ok');
    expect(outcome.ticket?.end.delivered).toBe(0);
    const kept = outcome.ticket!.end.pending.length;
    expect(kept).toBeGreaterThan(0);
    await outage.up();

    // The ticket has not heard of the end, but this machine's outbox holds it.
    const shown = await showTicket(eve, key);
    expect(shown.runs.find((r) => r.runId === runId)?.status).toBeUndefined();

    const first = await reportRuns({ services: eve, config, key });
    const trail = await trailOf(world, fake, key);
    expect(trail.attachments.filter((a) => a === `${runId}.journal.jsonl`)).toHaveLength(1);
    expect(trail.comments.filter((c) => c.includes(`opsbook run ${runId}: ok`))).toHaveLength(1);
    // It delivered what waited, and made no write of its own.
    expect(first).toEqual({ outbox: { delivered: kept, waiting: 0 }, reported: [], left: [] });
    expect(shown.waiting).toEqual({ writes: kept, runEnds: [runId] });
    expect((await eve.tracker.get(key)).status).toBe('In Review');
    expect((await showTicket(eve, key)).runs.find((r) => r.runId === runId)?.status).toBe('ok');
    expect((await showTicket(eve, key)).waiting).toBeUndefined();

    // A second call finds nothing to deliver or report, and writes nothing.
    const before = await trailOf(world, fake, key);
    expect(await reportRuns({ services: eve, config, key })).toEqual({
      outbox: { delivered: 0, waiting: 0 },
      reported: [],
      left: [],
    });
    expect(await trailOf(world, fake, key)).toEqual(before);
  });

  it('leaves a run whose end still waits in the outbox, naming outbox flush, and reports it once the tracker takes writes', async () => {
    const { fake, world } = current;
    const { config } = world;
    const signal = new AbortController().signal;
    const eve = world.as('eve');
    const { key } = await openAs(world, eve, 'tracker still refusing');
    await proposeMarkDone(world, eve, key);
    await approveTicket({ services: world.as('sam'), config, key, signer: world.sam });
    const outage = writesRefused(world, fake, eve);
    let going: Promise<void> | undefined;
    const { runId } = await runTicket({
      services: outage.services,
      config,
      key,
      env: world.env,
      executorSigner: world.eve,
      signal,
      onEvent: (e) => {
        if (e.type === 'run-end') going = outage.down();
      },
    });
    await going;
    if (fake) {
      // Jira reads too fail while it is down: ticket report cannot even read the approval.
      await expect(reportRuns({ services: eve, config, key })).rejects.toMatchObject({
        kind: 'unreachable',
      });
    } else {
      const refused = await reportRuns({ services: outage.services, config, key });
      expect(refused.reported).toEqual([]);
      expect(refused.outbox.delivered).toBe(0);
      expect(refused.outbox.waiting).toBeGreaterThan(0);
      expect(refused.left).toEqual([
        { runId, why: expect.stringContaining('opsbook outbox flush') },
      ]);
    }
    await outage.up();
    const done = await reportRuns({ services: eve, config, key });
    expect(done.outbox).toEqual({ delivered: expect.any(Number), waiting: 0 });
    expect(done.outbox.delivered).toBeGreaterThan(0);
    expect(done.left).toEqual([]);
    expect(done.reported).toEqual([]);
    const trail = await trailOf(world, fake, key);
    expect(trail.attachments.filter((a) => a === `${runId}.journal.jsonl`)).toHaveLength(1);
    expect(trail.comments.filter((c) => c.includes(`opsbook run ${runId}: ok`))).toHaveLength(1);
  });
});
