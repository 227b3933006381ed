import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { createTicket, createWorld, exists, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import type { RunDoc } from './run-outcome.js';
import { header } from './runbook-fixtures.js';

/*
 * Very long values (an attacker's inventory, or params side by side): Linux refuses to start a
 * command any one of whose arguments is past 131,071 bytes (MAX_ARG_STRLEN), and the rendered
 * command is one argument on the host. Such a plan used to be planned, signed and run, and then
 * fail on the host with "Argument list too long" after the steps before it had changed it.
 */

let world: World;

const longVar = `    - id: write
      name: Write the blob
      run: printf %s {{ host.vars.blob }} > {{ params.dir }}/{{ host.name }}.blob
`;
const twoParams = `    - id: write
      name: Write both halves
      run: printf %s%s {{ params.a }} {{ params.b }} > {{ params.dir }}/{{ host.name }}.ab
`;

beforeAll(async () => {
  world = await createWorld({
    hostCount: 1,
    runbooks: {
      'long-var': {
        yaml: `${header('long-var', 'change', 'P3')}spec:
  params:
    dir: {type: string, required: true, pattern: "^/"}
  targets: {default: all}
  steps:
    - id: before
      name: A change before the long command
      run: printf %s before > {{ params.dir }}/{{ host.name }}.before
${longVar}`,
      },
      'two-params': {
        yaml: `${header('two-params', 'change', 'P3')}spec:
  params:
    dir: {type: string, required: true, pattern: "^/"}
    a: {type: string, required: true}
    b: {type: string, required: true}
  targets: {default: all}
  steps:
${twoParams}`,
      },
    },
  });
});
afterAll(async () => {
  await world?.remove();
});

describe('a command too long for the host', () => {
  it('is refused at plan time when a host var makes it longer than Linux allows: exit 2, file:line, no plan', async () => {
    await world.writeInventory({ vars: { h1: { blob: 'b'.repeat(140_000) } } });
    try {
      const out = path.join(world.dir, 'long-var.json');
      const r = await world.opsbook([
        'plan',
        'long-var',
        '--ticket',
        await createTicket(world),
        '--param',
        `dir=${world.markerDir}`,
        '-o',
        out,
      ]);
      expect(r.stdout + r.stderr).not.toMatch(stackTrace);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/runbook\.yaml:\d+:\d+/);
      expect(r.stderr).toMatch(/steps\.write\.run/);
      expect(r.stderr).toMatch(/h1/);
      expect(r.stderr).toMatch(/131,071 bytes/);
      // The value itself is not echoed back: 140,000 b's would bury the message.
      expect(r.stderr).not.toMatch(/b{200}/);
      expect(exists(out)).toBe(false);
    } finally {
      await world.writeInventory();
    }
  });

  it('is refused at plan time when two params side by side make it too long', async () => {
    const out = path.join(world.dir, 'two-params.json');
    const r = await world.opsbook([
      'plan',
      'two-params',
      '--ticket',
      await createTicket(world),
      '--param',
      `dir=${world.markerDir}`,
      '--param',
      `a=${'a'.repeat(70_000)}`,
      '--param',
      `b=${'c'.repeat(70_000)}`,
      '-o',
      out,
    ]);
    expect(r.stdout + r.stderr).not.toMatch(stackTrace);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/steps\.write\.run/);
    expect(r.stderr).toMatch(/131,071 bytes/);
    expect(exists(out)).toBe(false);
  });

  it('runs a command just under the limit, the value reaching the host byte for byte', async () => {
    const blob = `${"'".repeat(10)}${'x'.repeat(120_000)}`;
    await world.writeInventory({ vars: { h1: { blob } } });
    try {
      const dir = path.join(world.markerDir, 'long');
      await mkdir(dir);
      const file = await approvedFile(world, 'long-var', 'long-ok.json', [world.people.alice], {
        params: { dir },
      });
      const r = await world.opsbook(['run', file, '--json']);
      expect(r.stderr).not.toMatch(stackTrace);
      expect(r.code).toBe(0);
      expect((JSON.parse(r.stdout) as RunDoc).hosts.map((h) => h.status)).toEqual(['ok']);
      expect(await readFile(path.join(dir, 'h1.blob'), 'utf8')).toBe(blob);
    } finally {
      await world.writeInventory();
    }
  });
});
