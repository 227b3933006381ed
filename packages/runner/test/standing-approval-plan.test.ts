import { appendFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createEnvelope, serializeEnvelope, signEnvelope, signProposal } from '@opsbook/approval';
import { loadConfig } from '@opsbook/schema';
import { stateStoreOf } from '@opsbook/state';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { approveFile, bindingOf, createPlan, runRoutine, TicketGate } from '../src/index.js';
import { startTicketWorld, type TicketWorld } from './ticket-world.js';

/*
 * A standing approval binds the plan its selector renders today (docs/routine-work.md): a host
 * the selector comes to match, or a changed host var, needs a new signature. One signed without
 * a plan digest (the engineer wrote the statement, the senior's `opsbook approve` signed it)
 * would bind no host and no command: whatever the inventory says at run time would run.
 */

let world: TicketWorld;

beforeEach(async () => {
  world = await startTicketWorld();
});
afterEach(() => world.close());

/** The world's standing approval of collect-diagnostics written again without `plan`, signed by `signers`. */
async function standingWithoutPlan(signers: TicketWorld['sam'][]): Promise<string> {
  const { tracker } = world.as('eve');
  const { key } = await tracker.create({ summary: 'Routine: diagnostics, no plan' });
  await tracker.transition(key, tracker.statuses.awaitingApproval);
  await tracker.transition(key, tracker.statuses.approved);
  const { statement } = await createPlan({
    config: world.config,
    runbook: 'collect-diagnostics',
    ticket: key,
    params: [],
    standing: true,
    target: 'all',
    expires: '30d',
    maxRuns: 100,
    tracker: bindingOf(tracker),
    proposerSigner: world.eve,
  });
  const { plan: _plan, ...planless } = statement;
  let envelope = await signProposal(createEnvelope(planless), planless, world.eve);
  for (const signer of signers) envelope = await signEnvelope(envelope, signer);
  const file = path.join(world.dir, 'approvals/collect-diagnostics.approval.json');
  await writeFile(file, serializeEnvelope(envelope));
  return file;
}

describe('a standing approval without the digest of its plan', () => {
  it('is not run: a host the inventory gains later would run under a signature that never saw it', async () => {
    await standingWithoutPlan([world.sam]);
    // The inventory the selector "all" matches grows by a host nobody reviewed.
    await writeFile(
      path.join(world.dir, 'inventory.yaml'),
      'all:\n  hosts:\n    localhost: {ansible_connection: local}\n    unseen: {ansible_connection: local}\n',
    );
    await appendFile(path.join(world.dir, 'opsbook.yaml'), 'inventory: inventory.yaml\n');
    const config = await loadConfig({
      file: path.join(world.dir, 'opsbook.yaml'),
      env: { OPSBOOK_TRUST_DIR: world.config.trustPinDir },
    });
    const signal = new AbortController().signal;
    await expect(
      runRoutine({
        config,
        runbook: 'collect-diagnostics',
        executorSigner: world.eve,
        env: world.env,
        signal,
        ticket: new TicketGate({ services: world.as('eve'), store: stateStoreOf(config), signal }),
      }),
    ).rejects.toMatchObject({
      code: 'STATEMENT_INVALID',
      message: expect.stringContaining('a standing selector must carry the plan digest'),
    });
    expect(await stateStoreOf(config).listRuns()).toEqual([]);
  }, 60_000);

  it('is not signed by a senior: approve refuses it before the key signs', async () => {
    const file = await standingWithoutPlan([]);
    await expect(approveFile(file, world.sam, { config: world.config })).rejects.toMatchObject({
      code: 'STATEMENT_INVALID',
    });
  }, 60_000);
});
