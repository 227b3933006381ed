import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { createWorld, expectOk, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { markerRunbook } from './runbook-fixtures.js';

/*
 * A damaged ledger line never widens what an approval allows: the read-only views read around
 * it (ledger-damaged-views.test.ts), but whatever counts or claims the approval's runs refuses.
 * Through the real binary and a real sshd host: the claim of a maxRuns: 1 approval's only run is
 * damaged, and neither verify nor run may take the approval as unused.
 */

let world: World;
beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { marker: markerRunbook() } });
});
afterAll(async () => {
  await world?.remove();
});

describe('an approval whose run claim is a damaged ledger line', () => {
  it('is refused by verify and run, naming the line, and touches no host', async () => {
    const dir = path.join(world.markerDir, 'ledger-damaged');
    await mkdir(dir, { recursive: true });
    const file = await approvedFile(world, 'marker', 'ledger-damaged.json', [world.people.alice], {
      params: { dir },
    });
    await expectOk(world.opsbook(['run', file, '--quiet']), 'the approval’s one run');
    await rm(path.join(dir, 'h1.ran'));
    await rm(path.join(dir, 'h1.pre'));
    const ledger = path.join(world.stateDir, 'ledger.jsonl');
    const lines = (await readFile(ledger, 'utf8')).split('\n');
    const claim = lines.findIndex((l) => l.includes('"type":"run"'));
    lines[claim] = lines[claim]!.replace('"type":"run"', '"type":"rum"');
    await writeFile(ledger, lines.join('\n'));
    for (const args of [
      ['verify', file],
      ['run', file, '--quiet'],
    ]) {
      const r = await world.opsbook(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`${ledger}:${claim + 1}:1: this ledger line is not a run`);
      expect(r.stderr).not.toMatch(stackTrace);
    }
    expect(await readdir(dir)).toEqual([]);
    // The views still show the run, and say why the history is not whole.
    const list = await world.opsbook(['runs', 'list']);
    expect(list.code).toBe(2);
    expect(list.stderr).toContain(`warning: ${ledger}:${claim + 1}:1:`);
  });
});
