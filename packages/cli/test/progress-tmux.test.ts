import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findFreePort } from '@opsbook/testkit/sshd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { createWorld, type RunbookFixture, type World } from './opsbook-world.js';
import { dirParam, header } from './runbook-fixtures.js';
import { Pane, terminalCommand } from './tmux-pane.js';

/*
 * Issue 17 item 12: what a person sees of `opsbook run` on a terminal. The real binary runs in a
 * tmux pane of 120×40 against real sshd hosts; the test reads the pane as text while a step
 * waits, then after the run.
 */

/**
 * Every host prints a line and waits in its one step until the `open` file exists, but a host
 * whose color is blue goes straight through: the test decides when the run goes on.
 */
const gateRunbook: RunbookFixture = {
  yaml: `${header('gate', 'change', 'P3')}spec:
  params:
${dirParam}  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: wait
      name: Wait for the gate
      run: echo waiting on {{ host.name }} && if [ {{ host.vars.color }} != blue ]; then while [ ! -e {{ params.dir }}/open ]; do sleep 0.1; done; fi
`,
};

let world: World;
const pane = new Pane();
beforeAll(async () => {
  world = await createWorld({ hostCount: 3, runbooks: { gate: gateRunbook } });
  pane.folder = world.dir;
  const downPort = await findFreePort('127.0.0.9');
  await world.writeInventory({
    vars: { h2: { color: 'green' }, h3: { color: 'green' } },
    extraHosts: {
      down: {
        ansible_host: '127.0.0.9',
        ansible_port: downPort,
        ansible_user: 'root',
        ansible_ssh_private_key_file: world.hosts[0]!.clientKeyPath,
        color: 'blue',
      },
    },
  });
});
afterAll(async () => {
  await pane.stop();
  await world?.remove();
});

/** `opsbook ARGS` as shell text with this world's environment, as a user would type it. */
const opsbookCommand = (args: string[]) => terminalCommand(world, args);

describe('opsbook run on a terminal', () => {
  it('redraws a status of hosts, steps, elapsed and ETA under the output, then lists only the hosts that did not succeed', async () => {
    const dir = path.join(world.markerDir, 'tmux');
    await mkdir(dir, { recursive: true });
    const file = await approvedFile(world, 'gate', 'gate.json', [world.people.alice], {
      params: { dir },
      target: 'h1:h2:h3:down',
    });
    await pane.start(opsbookCommand(['run', file]));

    // h1 went through, down is unreachable, h2 and h3 wait in their step. A host counts as
    // running from its step's start, before its first line of output arrives: wait for both.
    const during = await pane.waitForText(
      (t) =>
        t.includes('1/4 done') &&
        t.includes('2 running') &&
        t.includes('1 failed') &&
        t.includes('h2 | waiting on h2') &&
        t.includes('h3 | waiting on h3'),
      'h1 done, down failed, h2 and h3 waiting at the gate',
    );
    const lines = during.trimEnd().split('\n');
    const statusAt = lines.findIndex((l) => l.includes('1/4 done'));
    expect(lines[statusAt]).toMatch(
      /^gate 1\.0\.0: 1\/4 done · 1 failed · 2 running · 0 waiting · elapsed \d+:\d\d · ETA \d+:\d\d$/,
    );
    expect(lines[statusAt + 1]).toBe('  steps: wait "Wait for the gate" on 2 hosts');
    // Output and step results are written above the status block, each on a line of its own.
    const above = lines.slice(0, statusAt).join('\n');
    expect(above).toContain('h2 | waiting on h2');
    expect(above).toContain('h3 | waiting on h3');
    expect(above).toContain('[h1] steps/wait ok');
    expect(above).toMatch(/\[down\] unreachable/);
    // Redrawn in place: one status block on screen, not one per event.
    expect(lines.filter((l) => l.includes(' done · ')).length).toBe(1);

    await writeFile(path.join(dir, 'open'), '');
    const after = await pane.waitForText((t) => t.includes('[exit '), 'the run to end');
    // An unreachable host: the run's exit code says so (exit-code.ts).
    expect(after).toContain('[exit 4]');
    const end = after.trimEnd().split('\n');
    expect(end.filter((l) => l.includes(' done · ')).length).toBe(1);
    expect(after).toMatch(/gate 1\.0\.0: 3\/4 done · 1 failed · 0 running · 0 waiting/);
    // The summary's table holds the host that did not succeed, and only it.
    const table = end.slice(end.findIndex((l) => l.startsWith('HOST ')));
    expect(table[0]).toMatch(/^HOST\s+STATUS\s+FAILED STEP\s+ROLLED BACK\s+STEPS$/);
    expect(table[1]).toMatch(/^down\s+unreachable\s+0$/);
    expect(table[2]).toBe('');
    expect(table[3]).toBe('3 of 4 host(s) ok (--verbose lists them too)');
    expect(table.join('\n')).not.toMatch(/^h[123] /m);
  });

  it('stays line-based when stderr is not a terminal, and lists every host with --verbose', async () => {
    const dir = path.join(world.markerDir, 'piped');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'open'), '');
    const file = await approvedFile(world, 'gate', 'piped.json', [world.people.alice], {
      params: { dir },
      target: 'h1:h2:down',
    });
    await pane.start(`${opsbookCommand(['run', file, '--verbose'])} 2>&1 | cat`);
    const after = await pane.waitForText((t) => t.includes('[exit '), 'the piped run to end');
    expect(after).not.toContain(' done · ');
    expect(after).toContain('h2 | waiting on h2');
    expect(after).toContain('[h2] steps/wait ok');
    const end = after.trimEnd().split('\n');
    const table = end.slice(end.findIndex((l) => l.startsWith('HOST ')));
    expect(table.slice(1, 4).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
      ['h1', 'ok'],
      ['h2', 'ok'],
      ['down', 'unreachable'],
    ]);
    expect(table[5]).toBe('2 of 3 host(s) ok');
  });

  /** `opsbook run` of h2 and h3 in the pane, both waiting at the gate; the gate's folder. */
  async function gateRunWaiting(name: string): Promise<string> {
    const dir = path.join(world.markerDir, name);
    await mkdir(dir, { recursive: true });
    const file = await approvedFile(world, 'gate', `${name}.json`, [world.people.alice], {
      params: { dir },
      target: 'h2:h3',
    });
    await pane.start(opsbookCommand(['run', file]));
    await pane.waitForText(
      (t) => t.includes('steps: wait "Wait for the gate" on 2 hosts'),
      'h2 and h3 waiting at the gate',
    );
    return dir;
  }

  it('writes the Ctrl-C notice above the status block, which stays one block', async () => {
    const dir = await gateRunWaiting('ctrl-c');
    await pane.tmux(['send-keys', 'C-c']);
    const notice = await pane.waitForText(
      (t) => t.includes('interrupted: no new step'),
      'the Ctrl-C notice',
    );
    const lines = notice.trimEnd().split('\n');
    const noticeAt = lines.findIndex((l) => l.startsWith('interrupted: no new step'));
    const statusAt = lines.findIndex((l) => l.includes(' done · '));
    expect(noticeAt).toBeGreaterThan(-1);
    expect(statusAt).toBeGreaterThan(noticeAt);
    await writeFile(path.join(dir, 'open'), '');
    const after = await pane.waitForText((t) => t.includes('[exit '), 'the run to end');
    expect(after).toContain('[exit 130]');
    expect(after.split('\n').filter((l) => l.includes(' done · ')).length).toBe(1);
    expect(after).toMatch(/^run \S+ interrupted in /m);
  });

  it('shows what a second Ctrl-C does before it exits, lines still gathered under the block included', async () => {
    await gateRunWaiting('ctrl-c-twice');
    await pane.tmux(['send-keys', 'C-c']);
    await pane.waitForText((t) => t.includes('interrupted: no new step'), 'the first notice');
    await pane.tmux(['send-keys', 'C-c']);
    const after = await pane.waitForText((t) => t.includes('[exit '), 'the run to stop');
    expect(after).toContain('[exit 130]');
    expect(after).toContain('stopping now: the commands still running are killed');
    expect(after).toMatch(/^run \S+ interrupted in /m);
  });
});
