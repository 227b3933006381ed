import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './opsbook-world.js';
import { markerRunbook } from './runbook-fixtures.js';

/*
 * Each step of the ticket flow ends by saying who does what next, with the command, as
 * `ticket open` does: a newcomer going through the flow for the first time is never left to look
 * it up in the README between two steps.
 */

let world: World;
const asAlice = { env: { OPSBOOK_USER: 'alice' } };

beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { marker: markerRunbook() } });
});
afterAll(async () => {
  await world?.remove();
});

async function proposedTicket(
  dir = world.markerDir,
): Promise<{ key: string; stdout: string; digest: string }> {
  const opened = await world.opsbook(['ticket', 'open', '--summary', 'web: marker', '--json']);
  expect(opened.code, opened.stderr).toBe(0);
  const key = (JSON.parse(opened.stdout) as { key: string }).key;
  const proposed = await world.opsbook([
    ...['ticket', 'propose', key, '--runbook', 'marker'],
    ...['--param', `dir=${dir}`, '--senior', 'alice'],
  ]);
  expect(proposed.code, proposed.stderr).toBe(0);
  const digest = /^plan +(sha256:[0-9a-f]{64})$/m.exec(proposed.stdout)?.[1];
  expect(digest, proposed.stdout).toBeDefined();
  return { key, stdout: proposed.stdout, digest: digest! };
}

describe('the ticket flow says the next step', () => {
  it('propose names the senior and the approve command with the plan digest to pin', async () => {
    const { key, stdout, digest } = await proposedTicket();
    expect(stdout).toContain(
      `next: alice reviews the commands above and signs them: opsbook ticket approve ${key} --key ~/.ssh/id_ed25519 --plan-digest ${digest.slice(0, 'sha256:'.length + 12)} (or --agent)`,
    );
    // The command works as printed (with alice's key file for ~/.ssh/id_ed25519).
    const approved = await world.opsbook(
      [
        ...['ticket', 'approve', key, '--key', world.people.alice.keyFile],
        ...['--plan-digest', digest.slice(0, 'sha256:'.length + 12)],
      ],
      asAlice,
    );
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toContain(`next: the engineer runs it: opsbook ticket run ${key}`);
    // As printed (grace, the engineer, runs with her default key).
    const ran = await world.opsbook(['ticket', 'run', key]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout + ran.stderr).toContain(
      `next: ${key} is In Review: a senior who did not sign it checks the run and closes it: opsbook ticket accept ${key} --key ~/.ssh/id_ed25519 (or --agent)`,
    );
  });

  it('a failed run with runs left keeps the ticket In Progress, and sends nobody to accept it', async () => {
    // A marker folder that does not exist: the precheck fails on the host.
    const { key } = await proposedTicket(`${world.markerDir}/missing`);
    const approved = await world.opsbook(
      ['ticket', 'approve', key, '--key', world.people.alice.keyFile, '--max-runs', '2'],
      asAlice,
    );
    expect(approved.code, approved.stderr).toBe(0);
    const ran = await world.opsbook(['ticket', 'run', key]);
    expect(ran.code, ran.stderr).toBe(1);
    expect(ran.stdout + ran.stderr).not.toContain('ticket accept');
    const shown = await world.opsbook(['ticket', 'show', key, '--json']);
    expect((JSON.parse(shown.stdout) as { ticket: { status: string } }).ticket.status).toBe(
      'In Progress',
    );
  });

  it('reject with a reason tells the engineer to propose a plan that answers it', async () => {
    const { key } = await proposedTicket();
    const rejected = await world.opsbook(
      ['ticket', 'reject', key, '--key', world.people.alice.keyFile, '--reason', 'use logrotate'],
      asAlice,
    );
    expect(rejected.code, rejected.stderr).toBe(0);
    expect(rejected.stdout).toContain(
      `next: the engineer proposes a plan that answers the reason (opsbook ticket propose ${key} …)`,
    );
  });

  it('reject asking for data tells the engineer how to add it and propose again', async () => {
    const { key } = await proposedTicket();
    const rejected = await world.opsbook(
      ['ticket', 'reject', key, '--key', world.people.alice.keyFile, '--need-data', 'df -i'],
      asAlice,
    );
    expect(rejected.code, rejected.stderr).toBe(0);
    expect(rejected.stdout).toContain(
      `next: the engineer adds what is asked (opsbook ticket comment ${key} --text … --attach FILE) and proposes again (opsbook ticket propose ${key} …)`,
    );
  });
});
