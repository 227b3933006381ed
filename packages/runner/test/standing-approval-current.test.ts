import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stateStoreOf } from '@opsbook/state';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  approveTicket,
  proposeTicket,
  rejectTicket,
  runApproved,
  TicketGate,
} from '../src/index.js';
import { openAs, startTicketWorld, type TicketWorld } from './ticket-world.js';

/*
 * A recurring ticket carries its standing approval as any ticket carries its plan: a senior who
 * rejects it (the routine hurts a host, say) and later approves another plan on the ticket has
 * replaced it. The rejected standing approval still verifies on its own (signature, window,
 * runs left): the ticket gate is what must refuse it, as it does an explicit-host approval.
 */

let world: TicketWorld;

beforeEach(async () => {
  world = await startTicketWorld();
});
afterEach(() => world.close());

describe('a standing approval on its recurring ticket', () => {
  it('is refused once a senior rejected it and approved another on the ticket (APPROVAL_NOT_CURRENT), and runs nothing', async () => {
    const { config } = world;
    const signal = new AbortController().signal;
    const eve = world.as('eve');
    const sam = world.as('sam');
    const { key } = await openAs(world, eve, 'Routine: diagnostics');
    const proposeStanding = (maxRuns: number) =>
      proposeTicket({
        services: eve,
        config,
        key,
        runbook: 'collect-diagnostics',
        params: [],
        proposerSigner: world.eve,
        senior: 'sam',
        standing: true,
        target: 'all',
        expires: '30d',
        maxRuns,
      });
    await proposeStanding(10);
    const first = await approveTicket({ services: sam, config, key, signer: world.sam });
    const firstFile = path.join(world.dir, 'first.approval.json');
    await writeFile(firstFile, first.approval.envelope);
    const runFirst = () =>
      runApproved({
        config,
        approvalFile: firstFile,
        env: world.env,
        executorSigner: world.eve,
        signal,
        ticket: new TicketGate({ services: eve, store: stateStoreOf(config), signal }),
      });
    const ran = await runFirst();
    expect(ran.status).toBe('ok');
    expect((await eve.tracker.get(key)).status).toBe('In Progress');

    await rejectTicket({
      services: sam,
      config,
      key,
      signer: world.sam,
      text: 'stop: it hurts db',
    });
    expect((await eve.tracker.get(key)).status).toBe('Open');
    await proposeStanding(5);
    const second = await approveTicket({ services: sam, config, key, signer: world.sam });
    expect(second.statement.id).not.toBe(first.statement.id);
    expect((await eve.tracker.get(key)).status).toBe('Approved');

    await expect(runFirst()).rejects.toMatchObject({
      code: 'APPROVAL_NOT_CURRENT',
      kind: 'refused',
      message: expect.stringContaining(`${key} carries approval ${second.statement.id}`),
    });
    expect((await stateStoreOf(config).listRuns()).map((r) => r.runId)).toEqual([ran.runId]);
  }, 60_000);
});
