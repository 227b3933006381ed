import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { createWorld, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { secretRunbook } from './runbook-fixtures.js';
import { Pane, terminalCommand } from './tmux-pane.js';

/*
 * A secret param typed on the command line (`export OPSBOOK_PARAM_TOKEN=…`, or
 * `OPSBOOK_PARAM_TOKEN=… opsbook run …`) stays in the shell's history on the runner machine. On a
 * terminal, `opsbook run` asks for a secret param that is not set, without echoing it (DESIGN §9:
 * from the environment or a prompt); without one, its refusal says how to set the variable
 * without the shell keeping it. The real binary runs in a tmux pane, against a real sshd.
 */

let world: World;
const pane = new Pane();
beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { 'secret-token': secretRunbook } });
  pane.folder = world.dir;
});
afterAll(async () => {
  await pane.stop();
  await world?.remove();
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('a secret param that is not set', () => {
  it('is asked for on a terminal, not echoed, and reaches the step', async () => {
    const token = `tok-${randomBytes(18).toString('base64url')}`;
    const dir = path.join(world.markerDir, 'prompt');
    await mkdir(dir, { recursive: true });
    const file = await approvedFile(world, 'secret-token', 'prompt.json', [world.people.alice], {
      params: { dir },
    });
    await pane.start(terminalCommand(world, ['run', file]));
    const asked = await pane.waitForText(
      (t) => t.includes('not echoed') || t.includes('[exit '),
      'the question for the secret param (or the end of the run)',
    );
    expect(asked).toContain('secret param token (OPSBOOK_PARAM_TOKEN, not echoed): ');
    await pane.tmux(['send-keys', '-l', token]);
    await pane.tmux(['send-keys', 'Enter']);
    const after = await pane.waitForText((t) => t.includes('[exit '), 'the run to end');
    expect(after).toContain('[exit 0]');
    expect(after).not.toMatch(stackTrace);
    // The step got what was typed; the pane never showed it (the question, then the run).
    expect((await readFile(path.join(dir, 'h1.token-sha256'), 'utf8')).trim()).toBe(sha256(token));
    expect(after).toContain('h1 | token is ***');
    expect(after.includes(token)).toBe(false);
    expect(after.includes(token.slice(4, 16))).toBe(false);
  });

  it('Ctrl-C at the question exits 130 and Ctrl-D refuses (exit 2): neither leaves opsbook waiting or starts the run', async () => {
    for (const [key, code, said] of [
      ['C-c', 130, 'interrupted'],
      ['C-d', 2, 'secret param token is not set'],
    ] as const) {
      const dir = path.join(world.markerDir, `prompt-${key}`);
      await mkdir(dir, { recursive: true });
      const file = await approvedFile(
        world,
        'secret-token',
        `prompt-${key}.json`,
        [world.people.alice],
        {
          params: { dir },
        },
      );
      await pane.start(terminalCommand(world, ['run', file]));
      await pane.waitForText((t) => t.includes('not echoed'), 'the question for the secret param');
      await pane.tmux(['send-keys', key]);
      const after = await pane.waitForText((t) => t.includes('[exit '), `the end after ${key}`);
      expect(after).toContain(`[exit ${code}]`);
      expect(after).toContain(said);
      expect(after).not.toMatch(stackTrace);
      // Nothing ran: the step never wrote its marker.
      await expect(readFile(path.join(dir, 'h1.token-sha256'), 'utf8')).rejects.toThrow(/ENOENT/);
    }
  });

  it('without a terminal, is refused (exit 2) saying how to set it without the shell history keeping it', async () => {
    const dir = path.join(world.markerDir, 'no-terminal');
    await mkdir(dir, { recursive: true });
    const file = await approvedFile(
      world,
      'secret-token',
      'no-terminal.json',
      [world.people.alice],
      {
        params: { dir },
      },
    );
    const run = await world.opsbook(['run', file]);
    expect(run.stderr).not.toMatch(stackTrace);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'secret param token is not set: set OPSBOOK_PARAM_TOKEN in the environment of opsbook run without writing the value on a command line, which the shell history keeps: read -rs OPSBOOK_PARAM_TOKEN && export OPSBOOK_PARAM_TOKEN (or run opsbook run on a terminal, which asks for it)',
    );
  });
});
