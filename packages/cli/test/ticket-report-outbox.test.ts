import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile, readEnvelope, statementOf } from './approval-craft.js';
import { createWorld, execFileAsync, exists, type World, waitFor } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { slowRunbook } from './runbook-fixtures.js';

/*
 * The fault-injection trial: the local tracker's folder made read-only while a run's step runs,
 * so the run's end writes stay in the outbox; the tracker restored; then `ticket show` and
 * `ticket report`. Mounting needs root, as the test machines run; a test that cannot mount
 * fails rather than skips.
 */

let world: World;
beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { slow: slowRunbook } });
});
afterAll(async () => {
  await world?.remove();
});

interface TicketDoc {
  runs: Array<{ runId: string; status?: string }>;
  local: { comments: Array<{ body: unknown }>; attachments: Array<{ filename: string }> };
}

async function ticketDoc(key: string): Promise<TicketDoc> {
  const r = await world.opsbook(['ticket', 'show', key, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as TicketDoc;
}

describe('ticket report after a run whose end writes the tracker refused', () => {
  it('delivers them from the outbox and writes nothing twice; ticket show names outbox flush meanwhile', async () => {
    const dir = path.join(world.markerDir, 'tracker-ro');
    await mkdir(dir);
    const approval = await approvedFile(world, 'slow', 'tracker-ro.json', [world.people.alice], {
      params: { dir, seconds: '2' },
      target: 'h1',
    });
    const { ticket: key } = statementOf(await readEnvelope(approval));
    const tracker = path.join(world.stateDir, 'tracker');
    const running = world.spawnOpsbook(['run', approval]);
    await waitFor(() => exists(path.join(dir, 'h1.started')), 'the first step to start');
    await execFileAsync('mount', ['--bind', tracker, tracker]);
    let r: Awaited<typeof running.done>;
    try {
      await execFileAsync('mount', ['-o', 'remount,ro,bind', tracker]);
      r = await running.done;
    } finally {
      await execFileAsync('umount', [tracker]);
    }
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/0 write\(s\) delivered, \d+ kept in the outbox/);

    // The ticket has no end of the run; this machine's outbox has it.
    const shown = await world.opsbook(['ticket', 'show', key]);
    expect(shown.stdout).toContain(
      `its end waits in this machine's outbox (the tracker did not take it); opsbook outbox flush delivers it, or opsbook ticket report ${key}`,
    );
    expect(shown.stdout).toMatch(
      new RegExp(
        `^\\d+ write\\(s\\) to ${key} wait in this machine's outbox: opsbook outbox flush`,
        'm',
      ),
    );
    const before = await ticketDoc(key);
    const runId = before.runs.at(-1)!.runId;
    expect(before.runs.at(-1)!.status).toBeUndefined();

    const report = await world.opsbook(['ticket', 'report', key, '--approval', approval]);
    expect(report.stderr).not.toMatch(stackTrace);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toMatch(
      new RegExp(`^delivered \\d+ write\\(s\\) to ${key} that waited in the outbox$`, 'm'),
    );
    expect(report.stdout).toContain('nothing more to report');
    const after = await ticketDoc(key);
    expect(after.runs.at(-1)!.status).toBe('ok');
    const summaries = () =>
      after.local.comments.filter((c) => JSON.stringify(c.body).includes(`opsbook run ${runId}:`));
    expect(summaries()).toHaveLength(1);
    expect(
      after.local.attachments.filter((a) => a.filename === `${runId}.journal.jsonl`),
    ).toHaveLength(1);
    expect((await world.opsbook(['ticket', 'show', key])).stdout).not.toContain('outbox');

    // Again: nothing to deliver or report, nothing written.
    const again = await world.opsbook(['ticket', 'report', key, '--approval', approval]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(
      `${key} has no run of its approval with no reported end: nothing to report\n`,
    );
    const last = await ticketDoc(key);
    expect(last.local.comments).toHaveLength(after.local.comments.length);
    expect(last.local.attachments).toHaveLength(after.local.attachments.length);
  });
});

describe('a run whose end writes the outbox itself refused', () => {
  it('says the ticket was not told and names ticket report, not a flush that has nothing to send', async () => {
    const dir = path.join(world.markerDir, 'outbox-ro');
    await mkdir(dir);
    const approval = await approvedFile(world, 'slow', 'outbox-ro.json', [world.people.alice], {
      params: { dir, seconds: '2' },
      target: 'h1',
    });
    const { ticket: key } = statementOf(await readEnvelope(approval));
    const outbox = path.join(world.stateDir, 'outbox');
    const running = world.spawnOpsbook(['run', approval]);
    await waitFor(() => exists(path.join(dir, 'h1.started')), 'the first step to start');
    await execFileAsync('mount', ['--bind', outbox, outbox]);
    let r: Awaited<typeof running.done>;
    try {
      await execFileAsync('mount', ['-o', 'remount,ro,bind', outbox]);
      r = await running.done;
    } finally {
      await execFileAsync('umount', [outbox]);
    }
    expect(r.stderr).not.toMatch(stackTrace);
    // The disk refused opsbook's files: exit 1 (README), though the hosts' work went well.
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^error \\(READ_ONLY_FILESYSTEM\\): cannot write the outbox ${outbox}: the filesystem is read-only \\(EROFS\\)\\. The run ended ok and its journal .* is complete .*, but its ticket ${key} was not told how the run ended: once the outbox takes writes again, opsbook ticket report ${key} reports it\\.`,
        'm',
      ),
    );
    expect(`${r.stdout}${r.stderr}`).not.toContain('opsbook outbox flush');

    const report = await world.opsbook(['ticket', 'report', key, '--approval', approval]);
    expect(report.stderr).not.toMatch(stackTrace);
    expect(report.code, report.stderr).toBe(0);
    const after = await ticketDoc(key);
    expect(after.runs.at(-1)!.status).toBe('ok');
  });
});
