import { execFile } from 'node:child_process';
import { mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { createWorld, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { dirParam, header } from './runbook-fixtures.js';

/*
 * The engineer swaps runbook.yaml while `opsbook run` reads the runbook folder: the runner
 * parses one runbook.yaml and digests another. The inventory given with -i is a named pipe, so
 * the swap happens exactly between the two reads (the runner opens the inventory after it parsed
 * the runbook and before it digests it) instead of by winning a race. The relaxed copy changes
 * only what the rendered plan does not hold — the rule a secret param's value must meet — so the
 * plan digest matches the signed one: only the bytes parsed can tell.
 */

const signedYaml = `${header('guarded', 'change', 'P3')}spec:
  params:
${dirParam}    region: {type: string, secret: true, pattern: "^eu-[a-z]+$", description: Region token}
  targets: {default: all, concurrency: 10, maxFailures: 0}
  steps:
    - id: write
      name: Write the region the host was given
      run: printf '%s' "$OPSBOOK_PARAM_REGION" > {{ params.dir }}/{{ host.name }}.region
`;
// The same runbook with the secret's rule dropped: what the engineer wants to run under.
const relaxedYaml = signedYaml.replace(' pattern: "^eu-[a-z]+$",', '');

let world: World;
let approval: string;
let markers: string;
const yamlFile = () => path.join(world.runbooksDir, 'guarded', 'runbook.yaml');

beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { guarded: { yaml: signedYaml } } });
  markers = path.join(world.markerDir, 'guarded');
  await mkdir(markers);
  approval = await approvedFile(world, 'guarded', 'guarded.json', [world.people.alice], {
    params: { dir: markers },
    target: 'h1',
  });
});
afterAll(async () => {
  await world?.remove();
});

describe('a runbook.yaml swapped while opsbook run reads the runbook folder', () => {
  it('the signed rule holds when the folder is left alone: a secret outside it is refused', async () => {
    const r = await world.opsbook(['run', approval], { env: { OPSBOOK_PARAM_REGION: 'us-east' } });
    expect(r.stderr).toMatch(/secret param region \(from OPSBOOK_PARAM_REGION\) does not satisfy/);
    expect(r.code).toBe(2);
    expect(await readdir(markers)).toEqual([]);
  });

  it('refuses a run whose runbook.yaml was parsed from other bytes than it digested, and runs nothing', async () => {
    expect(relaxedYaml).not.toBe(signedYaml);
    const fifo = path.join(world.dir, 'inventory-pipe.yaml');
    await promisify(execFile)('mkfifo', [fifo]);
    const inventory = await readFile(world.inventoryFile);
    await writeFile(yamlFile(), relaxedYaml);
    const running = world.spawnOpsbook(['run', approval, '-i', fifo], {
      env: { OPSBOOK_PARAM_REGION: 'us-east' },
    });
    // Opening the pipe for writing waits for the runner to open it for reading: by then it has
    // parsed runbook.yaml, and has not digested the folder yet.
    const opened = await Promise.race([
      open(fifo, 'w'),
      running.done.then((r) => {
        throw new Error(`opsbook ended before it read the inventory: ${r.code} ${r.stderr}`);
      }),
    ]);
    await writeFile(yamlFile(), signedYaml);
    await opened.write(inventory);
    await opened.close();
    const r = await running.done;
    expect(r.stderr).not.toMatch(stackTrace);
    expect(await readdir(markers)).toEqual([]);
    expect(r.stderr).toMatch(/runbook\.yaml.*changed while opsbook read the runbook folder/);
    expect(r.code).toBe(2);
  });
});
