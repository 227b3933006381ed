import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { markerRunbook } from './runbook-fixtures.js';

/*
 * When the senior's checkout renders another plan than the engineer proposed (PLAN_MISMATCH),
 * the refusal says what differs where it can tell — a host's commands or connection, hosts,
 * params, the runbook — and that the senior's own -i or checkout may be what differs.
 */

let world: World;
const asAlice = { env: { OPSBOOK_USER: 'alice' } };

beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { marker: markerRunbook() } });
});
afterAll(async () => {
  await world?.remove();
});

describe('ticket approve with another inventory than the plan was made with', () => {
  it('names the host whose rendered commands differ and hints at -i', async () => {
    const opened = await world.opsbook(['ticket', 'open', '--summary', 'web: marker', '--json']);
    expect(opened.code, opened.stderr).toBe(0);
    const key = (JSON.parse(opened.stdout) as { key: string }).key;
    const proposed = await world.opsbook([
      ...['ticket', 'propose', key, '--runbook', 'marker'],
      ...['--param', `dir=${world.markerDir}/mismatch`, '--senior', 'alice'],
    ]);
    expect(proposed.code, proposed.stderr).toBe(0);
    const inventory = await readFile(world.inventoryFile, 'utf8');
    expect(inventory).toContain('blue');
    const hosts2 = path.join(world.dir, 'hosts2.yaml');
    await writeFile(hosts2, inventory.replace('blue', 'green'));
    const refused = await world.opsbook(
      ['ticket', 'approve', key, '--key', world.people.alice.keyFile, '-i', hosts2],
      asAlice,
    );
    expect(refused.stderr).not.toMatch(stackTrace);
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain('refused (PLAN_MISMATCH)');
    expect(refused.stderr).toMatch(/h1: its commands differ \(steps\/mark\)/);
    expect(refused.stderr).toContain(`-i ${hosts2}`);
  });
});

describe('ticket run with another inventory than the plan was approved with', () => {
  it('names the host whose rendered commands differ, not only the two digests', async () => {
    const markers = path.join(world.markerDir, 'run-mismatch');
    await mkdir(markers);
    const opened = await world.opsbook(['ticket', 'open', '--summary', 'web: marker', '--json']);
    expect(opened.code, opened.stderr).toBe(0);
    const key = (JSON.parse(opened.stdout) as { key: string }).key;
    const proposed = await world.opsbook([
      ...['ticket', 'propose', key, '--runbook', 'marker'],
      ...['--param', `dir=${markers}`, '--senior', 'alice'],
    ]);
    expect(proposed.code, proposed.stderr).toBe(0);
    const approved = await world.opsbook(
      ['ticket', 'approve', key, '--key', world.people.alice.keyFile],
      asAlice,
    );
    expect(approved.code, approved.stderr).toBe(0);
    const hosts2 = path.join(world.dir, 'hosts-run.yaml');
    await writeFile(hosts2, (await readFile(world.inventoryFile, 'utf8')).replace('blue', 'green'));
    const refused = await world.opsbook(['ticket', 'run', key, '-i', hosts2]);
    expect(refused.stderr).not.toMatch(stackTrace);
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain('refused (PLAN_MISMATCH)');
    expect(refused.stderr).toMatch(/h1: its commands differ \(steps\/mark\)/);
    // Refused before any host: not even the precheck's marker was left.
    expect(await readdir(markers)).toEqual([]);
  });
});
