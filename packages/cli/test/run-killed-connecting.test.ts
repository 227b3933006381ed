import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile, readEnvelope, statementOf } from './approval-craft.js';
import { createWorld, type World, waitFor } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { journalFiles } from './run-outcome.js';
import { markerRunbook } from './runbook-fixtures.js';

/*
 * `opsbook run` killed (SIGKILL) after it claimed its run and journaled its start, while it was
 * still connecting to its host (one that accepts TCP and never speaks SSH): nothing ran there.
 * What the next commands say: runs list and journal verify (incomplete, intact), runs show (no
 * step started on the host), doctor (which run stopped, and what to do about it and its
 * ticket), and a second run of the maxRuns 1 approval (refused, naming the run that took it).
 */

let world: World;
let silent: Server;
beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { marker: markerRunbook() } });
  silent = createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
  await world.writeInventory({
    extraHosts: {
      silent: {
        ansible_host: '127.0.0.1',
        ansible_port: (silent.address() as { port: number }).port,
        ansible_user: 'root',
        ansible_ssh_private_key_file: world.hosts[0]!.clientKeyPath,
        color: 'blue',
      },
    },
  });
});
afterAll(async () => {
  silent?.close();
  await world?.remove();
});

describe('opsbook run killed while connecting to its host', () => {
  it('leaves an intact incomplete run that runs show, doctor and a second run explain', async () => {
    const file = await approvedFile(
      world,
      'marker',
      'killed-connecting.json',
      [world.people.alice],
      {
        params: { dir: world.markerDir },
        target: 'silent',
      },
    );
    const { ticket } = statementOf(await readEnvelope(file));
    const before = new Set(await journalFiles(world));
    const running = world.spawnOpsbook(['run', file]);
    let journal: string | undefined;
    await waitFor(async () => {
      journal = (await journalFiles(world)).find((f) => !before.has(f));
      return journal !== undefined && (await readFile(journal, 'utf8')).includes('"host-start"');
    }, 'the run to start connecting to its host');
    running.child.kill('SIGKILL');
    await running.done;
    const runId = path.basename(journal!, '.jsonl');

    const list = await world.opsbook(['runs', 'list']);
    expect(list.stdout).toMatch(new RegExp(`^${runId}\\s+incomplete\\s`, 'm'));
    const verify = await world.opsbook(['journal', 'verify', runId]);
    expect(verify.stdout).toContain(`✓ ${runId}  intact (incomplete`);
    expect(verify.code).toBe(0);

    // A step-start is on disk before its command starts: none was, so nothing ran there.
    const shown = await world.opsbook(['runs', 'show', runId]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(
      /^host silent\n {2}no step started: nothing ran on this host \(its runner stopped while connecting\)$/m,
    );

    const doctor = await world.opsbook(['doctor']);
    expect(doctor.stderr).not.toMatch(stackTrace);
    expect(doctor.stdout).toMatch(/^✓ state +files store .*: 1 run\(s\) \(1 incomplete\)$/m);
    expect(doctor.stdout).toContain(
      `→ run ${runId} stopped before its end: opsbook runs show ${runId} says where; its ticket: opsbook ticket report ${ticket}, which names the way out (a senior's opsbook ticket reject ${ticket})`,
    );

    // The killed run counts (its journal, without a pinned end, cannot prove that nothing ran),
    // and the refusal says which run took the approval.
    const again = await world.opsbook(['run', file]);
    expect(again.stderr).not.toMatch(stackTrace);
    expect(again.stderr).toBe(
      `refused (RUNS_EXHAUSTED): this approval allowed 1 run(s) and 1 have been made (run ${runId}: incomplete, its runner stopped before its end (opsbook runs show ${runId} says where)): ask a senior for a new approval\n`,
    );
    expect(again.code).toBe(3);
  });
});
