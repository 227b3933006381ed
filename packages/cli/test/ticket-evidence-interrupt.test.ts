import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { createWorld, exists, firstCtrlC, type World, waitFor } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { isAnyProcessMentioning, readJournal } from './run-outcome.js';
import { dirParam, header } from './runbook-fixtures.js';

/*
 * Ctrl-C during the evidence run of `ticket open` and `ticket comment` (a routine runbook under
 * its standing approval, against real sshd hosts) behaves as during `opsbook run`: a second one
 * kills the commands still running, journals each step as stopped and each host cancelled, and
 * the evidence run ends interrupted (exit 130). It used to exit at once, leaving the evidence
 * run without an end in its journal and the ticket unopened.
 */

/** A read-only routine runbook whose one step would run for five minutes. */
const slowEvidence = {
  yaml: `${header('slow-evidence', 'routine', 'P4')}spec:
  params:
${dirParam}  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: look
      name: Look for a long time
      run: touch {{ params.dir }}/{{ host.name }}.started && sleep 300 && touch {{ params.dir }}/{{ host.name }}.done
`,
};

/** The same slow step, as the routine runbook `opsbook inspect` runs. */
const slowInspection = {
  yaml: slowEvidence.yaml.replace(
    header('slow-evidence', 'routine', 'P4'),
    header('daily-inspection', 'routine', 'P4'),
  ),
};

let world: World;
let dir = '';
beforeAll(async () => {
  world = await createWorld({
    hostCount: 2,
    runbooks: { 'slow-evidence': slowEvidence, 'daily-inspection': slowInspection },
  });
  dir = path.join(world.markerDir, 'evidence');
  await mkdir(dir);
  const standing = async (runbook: string) =>
    approvedFile(world, runbook, `approvals/${runbook}.approval.json`, [world.people.alice], {
      params: { dir },
      target: 'all',
      extra: ['--standing', '--expires', '30d', '--max-runs', '100'],
    });
  const evidence = await standing('slow-evidence');
  const inspection = await standing('daily-inspection');
  const config = path.join(world.dir, 'opsbook.yaml');
  await writeFile(
    config,
    `${await readFile(config, 'utf8')}standing:\n  slow-evidence: ${path.relative(world.dir, evidence)}\n  daily-inspection: ${path.relative(world.dir, inspection)}\n`,
  );
});
afterAll(async () => {
  await world?.remove();
});

/** Starts `args` and presses Ctrl-C twice once both hosts are inside the evidence step. */
async function interruptTwice(args: string[]) {
  // The markers of the test before, whose commands are gone.
  for (const f of await readdir(dir)) await rm(path.join(dir, f));
  const running = world.spawnOpsbook(args);
  const started = (h: string) => exists(path.join(dir, `${h}.started`));
  await waitFor(() => started('h1') && started('h2'), 'both hosts to start the evidence step');
  await firstCtrlC(running);
  // As opsbook run's: which steps the first Ctrl-C waits for, and what ends the wait.
  await waitFor(
    () =>
      /\nwaiting for h[12] steps\/look, h[12] steps\/look: each ends by itself or by its step's timeout/.test(
        running.stderr(),
      ),
    'the first Ctrl-C to name the steps it waits for',
  );
  running.child.kill('SIGINT');
  const r = await running.done;
  expect(r.stderr).not.toMatch(stackTrace);
  expect(r.stderr).toContain(
    'stopping now: the commands still running are killed and the run is recorded as interrupted',
  );
  expect(r.stderr).not.toContain('stays incomplete');
  return r;
}

/** The evidence run's journal: every step stopped, every host cancelled, the run interrupted. */
async function expectStoppedEvidence(runId: string) {
  const journal = await readJournal(path.join(world.stateDir, 'runs', `${runId}.jsonl`));
  for (const host of ['h1', 'h2']) {
    const end = journal.find((e) => e.type === 'step-end' && e.host === host);
    expect(end).toMatchObject({ step: 'look', status: 'error' });
    expect(String(end!.reason)).toContain('was cancelled and killed (stopped by a second Ctrl-C)');
  }
  expect(journal.at(-1)).toMatchObject({
    type: 'run-end',
    status: 'interrupted',
    hosts: { h1: 'cancelled', h2: 'cancelled' },
  });
  await waitFor(
    async () => !(await isAnyProcessMentioning(`${dir}/`)),
    'the stopped commands to die',
  );
  expect(exists(path.join(dir, 'h1.done')) || exists(path.join(dir, 'h2.done'))).toBe(false);
  const verify = await world.opsbook(['journal', 'verify', runId]);
  expect(verify.stdout).toContain(`${runId}  intact (complete`);
}

describe('a second Ctrl-C during an evidence run', () => {
  it('of ticket open kills the evidence commands, records the run as interrupted, opens the ticket saying so, exit 130', async () => {
    const r = await interruptTwice([
      ...['ticket', 'open', '--summary', 'db slow', '--evidence', 'slow-evidence', '--json'],
    ]);
    expect(r.code, r.stderr).toBe(130);
    const doc = JSON.parse(r.stdout) as {
      key: string;
      evidence: { runId: string; status: string };
    };
    expect(doc.evidence.status).toBe('interrupted');
    await expectStoppedEvidence(doc.evidence.runId);
    const shown = await world.opsbook(['ticket', 'show', doc.key, '--comments']);
    expect(shown.stdout).toContain(
      `run ${doc.evidence.runId} of slow-evidence 1.0.0 (interrupted)`,
    );
  });

  it('of ticket comment does the same, and the comment says the evidence was interrupted', async () => {
    const opened = await world.opsbook([
      ...['ticket', 'open', '--summary', 'db slow', '--no-evidence', '--json'],
    ]);
    const key = (JSON.parse(opened.stdout) as { key?: string }).key;
    expect(key, opened.stderr).toBeDefined();
    const r = await interruptTwice(['ticket', 'comment', key!, '--evidence', 'slow-evidence']);
    expect(r.code, r.stderr).toBe(130);
    const runId = /run (\S+): slow-evidence/.exec(r.stderr)?.[1];
    expect(runId, r.stderr).toBeDefined();
    expect(r.stdout).toContain(`commented on ${key}`);
    expect(r.stdout).toContain(`evidence run ${runId} was interrupted`);
    await expectStoppedEvidence(runId!);
    const shown = await world.opsbook(['ticket', 'show', key!, '--comments']);
    expect(shown.stdout).toContain(`Evidence: slow-evidence 1.0.0, run ${runId} (interrupted)`);
  });
});

describe('Ctrl-C during opsbook inspect', () => {
  it('says which steps the first one waits for, as opsbook run does; a second one kills them, exit 130', async () => {
    const r = await interruptTwice(['inspect']);
    expect(r.code, r.stderr).toBe(130);
    const runId = /run (\S+): daily-inspection/.exec(r.stderr)?.[1];
    expect(runId, r.stderr).toBeDefined();
    await expectStoppedEvidence(runId!);
  });
});
