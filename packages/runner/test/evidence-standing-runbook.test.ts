import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { type Config, loadConfig } from '@opsbook/schema';
import { stateStoreOf } from '@opsbook/state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTicket } from '../src/index.js';
import { startTicketWorld, type TicketWorld } from './ticket-world.js';

/*
 * `ticket open --evidence RUNBOOK` runs RUNBOOK under the standing approval opsbook.yaml names
 * for it. An entry naming another runbook's approval (here: daily-inspection's entry holds
 * collect-diagnostics' approval) must be refused, as `opsbook inspect` refuses it
 * (RUNBOOK_MISMATCH): otherwise the run is of a runbook the engineer did not ask for, reported
 * on the new ticket as its evidence.
 */

let world: TicketWorld;
let config: Config;

beforeAll(async () => {
  world = await startTicketWorld();
  await appendFile(
    path.join(world.dir, 'opsbook.yaml'),
    '  daily-inspection: approvals/collect-diagnostics.approval.json\n',
  );
  config = await loadConfig({
    file: path.join(world.dir, 'opsbook.yaml'),
    env: { OPSBOOK_TRUST_DIR: world.config.trustPinDir },
  });
}, 60_000);

afterAll(async () => {
  await world?.close();
});

describe('ticket open --evidence under a standing: entry holding another runbook’s approval', () => {
  it('is refused (RUNBOOK_MISMATCH) and runs nothing; the ticket is opened saying so', async () => {
    expect(config.raw.standing?.['daily-inspection']).toBe(
      'approvals/collect-diagnostics.approval.json',
    );
    const opened = await openTicket({
      services: world.as('eve'),
      config,
      env: world.env,
      executorSigner: world.eve,
      signal: new AbortController().signal,
      summary: 'Symptoms of the web tier',
      evidence: { runbook: 'daily-inspection' },
    });
    expect(opened.evidence).toBeUndefined();
    expect(opened.evidenceRefused).toMatchObject({
      runbook: 'daily-inspection',
      code: 'RUNBOOK_MISMATCH',
    });
    expect(await stateStoreOf(config).listRuns()).toEqual([]);
  }, 60_000);
});
