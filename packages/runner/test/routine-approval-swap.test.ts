import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { stateStoreOf } from '@opsbook/state';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  approveTicket,
  openTicket,
  runRoutine,
  saveTicketApproval,
  TicketGate,
} from '../src/index.js';
import { openAs, proposeMarkDone, startTicketWorld, type TicketWorld } from './ticket-world.js';

/*
 * The standing approval a routine run (`opsbook inspect`, every slot of `opsbook schedule run`)
 * goes by is a file opsbook.yaml names, which the engineer may replace. Whatever the file gives
 * when it is read, the run must be the one the checks of the routine (a standing selector, of
 * that runbook) were made on: a file that gives other bytes the second time it is read (a FIFO
 * fed by the engineer) must not turn the slot into a run of another approval.
 */

let world: TicketWorld;
let writer: ChildProcess | undefined;

beforeEach(async () => {
  world = await startTicketWorld();
});
afterEach(async () => {
  // The writer's own group: its `cat` may still wait for a reader that never comes.
  if (writer?.pid !== undefined && writer.exitCode === null && writer.signalCode === null)
    process.kill(-writer.pid, 'SIGKILL');
  writer = undefined;
  await world.close();
});

/**
 * A valid, signed incident approval of mark-done on a ticket of its own; then the standing file
 * of collect-diagnostics becomes a FIFO that gives the standing approval when first read, and
 * that incident approval when read again.
 */
async function standingFileGivingAnotherApprovalNext(): Promise<void> {
  const { config } = world;
  const { key } = await openAs(world, world.as('eve'), 'Fix with mark-done');
  await proposeMarkDone(world, world.as('eve'), key);
  await approveTicket({ services: world.as('sam'), config, key, signer: world.sam });
  const incident = path.join(world.dir, 'incident.approval.json');
  await saveTicketApproval({ tracker: world.as('eve').tracker, config, key, output: incident });
  const standingFile = path.join(world.dir, 'approvals/collect-diagnostics.approval.json');
  const standingCopy = path.join(world.dir, 'standing.approval.json');
  await rename(standingFile, standingCopy);
  execFileSync('mkfifo', [standingFile]);
  writer = spawn(
    'sh',
    [
      '-c',
      'cat "$1" > "$3"; sleep 0.5; cat "$2" > "$3"',
      'sh',
      standingCopy,
      incident,
      standingFile,
    ],
    { stdio: 'ignore', detached: true },
  );
}

async function runbooksRun(): Promise<(string | undefined)[]> {
  return (await stateStoreOf(world.config).listRuns()).map((r) => r.runbook);
}

describe('a routine run under the standing approval opsbook.yaml names', () => {
  it('runs the approval its routine checks were made on (inspect, a schedule slot), not what the file gives when read again', async () => {
    await standingFileGivingAnotherApprovalNext();
    const { config } = world;
    const signal = new AbortController().signal;
    const routine = await runRoutine({
      config,
      runbook: 'collect-diagnostics',
      executorSigner: world.eve,
      env: world.env,
      signal,
      ticket: new TicketGate({ services: world.as('eve'), store: stateStoreOf(config), signal }),
    });
    expect(routine.outcome.verified.verified.statement.runbook.name).toBe('collect-diagnostics');
    expect(existsSync(path.join(world.markerDir, 'marker'))).toBe(false);
    expect(await runbooksRun()).toEqual(['collect-diagnostics']);
  }, 60_000);

  it('collects the evidence of ticket open under the standing approval it checked, not what the file gives when read again', async () => {
    await standingFileGivingAnotherApprovalNext();
    const opened = await openTicket({
      services: world.as('eve'),
      config: world.config,
      env: world.env,
      executorSigner: world.eve,
      signal: new AbortController().signal,
      summary: 'Symptoms of the web tier',
      evidence: { runbook: 'collect-diagnostics' },
    });
    expect(opened.evidence?.outcome.verified.verified.statement.runbook.name).toBe(
      'collect-diagnostics',
    );
    expect(existsSync(path.join(world.markerDir, 'marker'))).toBe(false);
    expect(await runbooksRun()).toEqual(['collect-diagnostics']);
  }, 60_000);
});
