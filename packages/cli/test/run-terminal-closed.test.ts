import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { createWorld, exists, type World, waitFor } from './opsbook-world.js';
import { isAnyProcessMentioning, readJournal } from './run-outcome.js';
import { slowRunbook } from './runbook-fixtures.js';
import { Pane, terminalCommand } from './tmux-pane.js';

/*
 * The terminal `opsbook run` runs in goes away mid-run (a closed window, a dropped ssh session to
 * the runner machine): a real tmux pane is killed, so opsbook gets SIGHUP from the kernel and
 * every later write to its terminal fails (EIO). The run goes on to its end, as under nohup,
 * records it, and `opsbook runs list` shows how it ended, not a run left `running`.
 */

let world: World;
const pane = new Pane();
beforeAll(async () => {
  world = await createWorld({ hostCount: 2, runbooks: { slow: slowRunbook } });
  pane.folder = await mkdtemp(path.join(world.dir, 'tmux-'));
});
afterAll(async () => {
  await pane.stop();
  await world?.remove();
});

describe('opsbook run whose terminal is closed mid-run', () => {
  it('goes on to its end, records it, and runs list shows it ok', async () => {
    const dir = path.join(world.markerDir, 'terminal-closed');
    await mkdir(dir);
    const file = await approvedFile(world, 'slow', 'terminal-closed.json', [world.people.alice], {
      params: { dir, seconds: '3' },
      target: 'h1:h2',
    });
    await pane.start(terminalCommand(world, ['run', file]));
    await waitFor(
      () => exists(path.join(dir, 'h1.started')) && exists(path.join(dir, 'h2.started')),
      'both hosts to start their first step',
    );
    await pane.stop();
    // opsbook outlives its terminal, and ends once the run has.
    await waitFor(async () => !(await isAnyProcessMentioning(file)), 'opsbook to end');
    expect((await readdir(dir)).sort()).toEqual([
      'h1.first-done',
      'h1.second',
      'h1.started',
      'h2.first-done',
      'h2.second',
      'h2.started',
    ]);
    const list = await world.opsbook(['runs', 'list', '--json']);
    const runs = (JSON.parse(list.stdout) as { runs: Array<{ runId: string; status: string }> })
      .runs;
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe('ok');
    const journal = await readJournal(path.join(world.stateDir, 'runs', `${runs[0]!.runId}.jsonl`));
    expect(journal.at(-1)).toMatchObject({ type: 'run-end', status: 'ok' });
  });
});
