import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hashOfLine } from '@opsbook/state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile, readEnvelope, statementOf } from './approval-craft.js';
import { createWorld, exists, type World, waitFor } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { journalFiles } from './run-outcome.js';
import { slowRunbook } from './runbook-fixtures.js';

/*
 * The audit's reproduction, through the real binary: `opsbook run` of a maxRuns 1 approval is
 * killed with SIGKILL once a step ran on the host; the engineer rewrites the run's journal to
 * look like no host was reached (run-start and host-start kept, host-end and run-end
 * unreachable, the chain recomputed with hashOfLine) and appends the matching ledger run-end
 * (reached: false); then `ticket report`. That report must count the run, mark it as reported
 * late, and give no second run.
 */

let world: World;
beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { slow: slowRunbook } });
});
afterAll(async () => {
  await world?.remove();
});

type Line = Record<string, unknown> & { type: string };

async function forgeUnreached(
  file: string,
): Promise<{ runId: string; head: string; count: number }> {
  const lines = (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
  const start = lines[0]!;
  const hosts = (start.hosts as string[]) ?? [];
  const events: Line[] = [
    ...lines
      .filter((l) => l.type === 'run-start' || l.type === 'host-start')
      .map(({ seq: _s, at: _a, prev: _p, hash: _h, ...e }) => e as Line),
    ...hosts.map((host) => ({ type: 'host-end', host, status: 'unreachable', error: 'refused' })),
    {
      type: 'run-end',
      status: 'unreachable',
      hosts: Object.fromEntries(hosts.map((h) => [h, 'unreachable'])),
      interrupted: false,
      stoppedByFailures: false,
    },
  ];
  let prev = start.prev as string;
  const out = events.map((e, i) => {
    const line: Record<string, unknown> = {
      seq: (start.seq as number) + i,
      at: start.at,
      prev,
      ...e,
    };
    line.hash = hashOfLine(line);
    prev = line.hash as string;
    return JSON.stringify(line);
  });
  await writeFile(file, `${out.join('\n')}\n`);
  return { runId: String(start.runId), head: prev, count: events.length };
}

describe('ticket report of a killed run whose state dir was edited to say no host was reached', () => {
  it('counts the run, marks its end as reported late, and refuses a second run of a maxRuns 1 approval', async () => {
    const dir = path.join(world.markerDir, 'late');
    await mkdir(dir);
    const approval = await approvedFile(world, 'slow', 'late.json', [world.people.alice], {
      params: { dir, seconds: '30' },
      target: 'h1',
      extra: ['--max-runs', '1'],
    });
    const { ticket: key } = statementOf(await readEnvelope(approval));
    const before = new Set(await journalFiles(world));
    const running = world.spawnOpsbook(['run', approval]);
    await waitFor(() => exists(path.join(dir, 'h1.started')), 'the change step to start on h1');
    running.child.kill('SIGKILL');
    await running.done;
    const [file] = (await journalFiles(world)).filter((f) => !before.has(f));
    const forged = await forgeUnreached(file!);
    await appendFile(
      path.join(world.stateDir, 'ledger.jsonl'),
      `${JSON.stringify({ type: 'run-end', ...forged, status: 'unreachable', at: new Date().toISOString(), reached: false })}\n`,
    );
    expect((await world.opsbook(['journal', 'verify', forged.runId])).code).toBe(0);

    const report = await world.opsbook(['ticket', 'report', key, '--approval', approval]);
    expect(report.stderr).not.toMatch(stackTrace);
    expect(report.code, report.stderr).toBe(0);
    const shown = await world.opsbook(['ticket', 'show', key, '--json']);
    const doc = JSON.parse(shown.stdout) as {
      runs: Array<{ runId: string; reached?: boolean; endReportedBy?: string }>;
    };
    const record = doc.runs.find((r) => r.runId === forged.runId)!;
    expect(record.reached).toBeUndefined();
    expect(record.endReportedBy).toBe('ticket report');
    expect((await world.opsbook(['ticket', 'show', key])).stdout).toContain(
      'reported late by opsbook ticket report',
    );

    // No second run: the marker of a new run never appears.
    const again = await world.opsbook(['run', approval]);
    expect(again.stderr).not.toMatch(stackTrace);
    expect(again.code, again.stdout).toBe(3);
  });
});
