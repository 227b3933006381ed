import { mkdir } from 'node:fs/promises';
import { quoteShellArg } from '@opsbook/exec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, expectOk, type World } from './opsbook-world.js';
import { binPath, runShell, stackTrace } from './run-cli.js';
import { markerRunbook } from './runbook-fixtures.js';
import { Pane, terminalCommand } from './tmux-pane.js';

/*
 * `ticket approve` as the senior who reviewed the proposal comment uses it: they may pin the
 * plan digest they read (--plan-digest), and on a terminal they are shown the plan and asked
 * before the key signs it (default no; --yes skips the question; no terminal, no question).
 */

let world: World;
const asAlice = { env: { OPSBOOK_USER: 'alice' } };

beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { marker: markerRunbook() } });
});
afterAll(async () => {
  await world?.remove();
});

async function ok(args: string[], options?: { env?: NodeJS.ProcessEnv }) {
  const r = await world.opsbook(args, options);
  expect(r.stderr).not.toMatch(stackTrace);
  expect(r.code, `opsbook ${args.join(' ')}\n${r.stderr}\n${r.stdout}`).toBe(0);
  return r;
}

/** A new ticket with a proposal of the marker runbook for alice; its key and plan digest. */
async function proposed(name: string): Promise<{ key: string; digest: string }> {
  const opened = await ok(['ticket', 'open', '--summary', `web: ${name}`, '--json']);
  const key = (JSON.parse(opened.stdout) as { key: string }).key;
  await ok([
    ...['ticket', 'propose', key, '--runbook', 'marker'],
    ...['--param', `dir=${world.markerDir}/${name}`, '--senior', 'alice'],
  ]);
  const shown = JSON.parse((await ok(['ticket', 'show', key, '--json'])).stdout) as {
    proposal: { planDigest: string };
  };
  return { key, digest: shown.proposal.planDigest };
}

/** `opsbook ARGS` on a terminal (script(1) gives it one), typing `typed`. */
function onTerminal(args: string[], typed: string) {
  const command = ['node', binPath, ...args].map((a) => quoteShellArg(a)).join(' ');
  const env = Object.entries({ ...world.env, ...asAlice.env })
    .map(([k, v]) => `${k}=${quoteShellArg(v ?? '')}`)
    .join(' ');
  return runShell(
    `printf %s ${quoteShellArg(typed)} | script -qefc ${quoteShellArg(`env ${env} ${command}`)} /dev/null`,
    { cwd: world.dir },
  );
}

describe('ticket approve --plan-digest', () => {
  it('signs the plan whose digest starts with the one pinned, and refuses another before signing', async () => {
    const { key, digest } = await proposed('pinned');
    const key2 = (await proposed('other')).key;
    const wrong = await world.opsbook(
      [
        'ticket',
        'approve',
        key2,
        '--key',
        world.people.alice.keyFile,
        '--plan-digest',
        digest.slice(0, 19),
      ],
      asAlice,
    );
    expect(wrong.code, wrong.stderr).toBe(3);
    expect(wrong.stderr).toContain('refused (PLAN_NOT_REVIEWED)');
    expect(wrong.stdout).not.toContain(`approved ${key2}`);
    const short = await world.opsbook(
      [
        'ticket',
        'approve',
        key,
        '--key',
        world.people.alice.keyFile,
        '--plan-digest',
        digest.slice(0, 12),
      ],
      asAlice,
    );
    expect(short.code, short.stderr).toBe(2);
    const approved = await ok(
      [
        'ticket',
        'approve',
        key,
        '--key',
        world.people.alice.keyFile,
        '--plan-digest',
        digest.slice(0, 19),
      ],
      asAlice,
    );
    expect(approved.stdout).toContain(`approved ${key} as Alice Senior`);
    const shown = await ok(['ticket', 'show', key]);
    expect(shown.stdout).toMatch(
      new RegExp(`^approval: \\S+ \\(plan ${digest}\\) signed by alice`, 'm'),
    );
  });
});

describe('ticket approve on a terminal', () => {
  it('shows the plan and asks before signing; no (the default) signs nothing', async () => {
    const { key, digest } = await proposed('declined');
    const declined = await onTerminal(
      ['ticket', 'approve', key, '--key', world.people.alice.keyFile],
      '\n',
    );
    expect(declined.code, declined.stdout).toBe(3);
    expect(declined.stdout).toContain(digest);
    expect(declined.stdout).toMatch(
      /Sign this plan \(sha256:[0-9a-f]{12}…, 1 host\) for OPS-\d+\? \[y\/N\]/,
    );
    expect(declined.stdout).toContain('refused (APPROVAL_DECLINED)');
    const shown = JSON.parse((await ok(['ticket', 'show', key, '--json'])).stdout) as {
      ticket: { status: string };
      approval?: unknown;
    };
    expect(shown.ticket.status).toBe('Awaiting Approval');
    expect(shown.approval).toBeUndefined();

    const yes = await onTerminal(
      ['ticket', 'approve', key, '--key', world.people.alice.keyFile],
      'y\n',
    );
    expect(yes.code, yes.stdout).toBe(0);
    expect(yes.stdout).toContain(`approved ${key} as Alice Senior`);
  });

  it('Ctrl-C at the question is an interruption (exit 130), not a refusal: nothing signed', async () => {
    const { key } = await proposed('ctrl-c');
    const pane = new Pane();
    pane.folder = world.dir;
    try {
      await pane.start(
        terminalCommand(world, ['ticket', 'approve', key, '--key', world.people.alice.keyFile], {
          OPSBOOK_USER: 'alice',
        }),
      );
      await pane.waitForText((t) => t.includes('[y/N]'), 'the question before signing');
      await pane.tmux(['send-keys', 'C-c']);
      const after = await pane.waitForText((t) => t.includes('[exit '), 'the end after Ctrl-C');
      expect(after).toContain('[exit 130]');
      expect(after).toContain(`interrupted: nothing was signed and ${key} is unchanged`);
      expect(after).not.toContain('APPROVAL_DECLINED');
      expect(after).not.toMatch(stackTrace);
    } finally {
      await pane.stop();
    }
    const shown = JSON.parse((await ok(['ticket', 'show', key, '--json'])).stdout) as {
      ticket: { status: string };
      approval?: unknown;
    };
    expect(shown.ticket.status).toBe('Awaiting Approval');
    expect(shown.approval).toBeUndefined();
  });

  it('does not ask with --yes, nor without a terminal', async () => {
    const { key } = await proposed('yes');
    const yes = await onTerminal(
      ['ticket', 'approve', key, '--key', world.people.alice.keyFile, '--yes'],
      '',
    );
    expect(yes.code, yes.stdout).toBe(0);
    expect(yes.stdout).not.toContain('[y/N]');
    const piped = (await proposed('piped')).key;
    const noTerminal = await ok(
      ['ticket', 'approve', piped, '--key', world.people.alice.keyFile],
      asAlice,
    );
    expect(noTerminal.stdout + noTerminal.stderr).not.toContain('[y/N]');
  });

  it('says --plan-digest and --yes in its help', async () => {
    const help = await ok(['ticket', 'approve', '--help']);
    expect(help.stdout).toContain('--plan-digest');
    expect(help.stdout).toContain('--yes');
  });
});

/*
 * A step refused because the ticket is past it says what works from there: on an Approved ticket
 * `ticket approve` advised `propose` (which takes an Open ticket only), and on a Done ticket
 * `propose` advised asking for a rejection that `reject` then refused.
 */
describe('ticket propose, approve and reject on a ticket past their step', () => {
  const asBob = { env: { OPSBOOK_USER: 'bob' } };
  /** A refused step: exit 3, TICKET_WRONG_STATUS, no stack trace; its message. */
  async function refused(args: string[], options?: { env?: NodeJS.ProcessEnv }) {
    const r = await world.opsbook(args, options);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, `opsbook ${args.join(' ')}\n${r.stderr}\n${r.stdout}`).toBe(3);
    expect(r.stderr).toContain('refused (TICKET_WRONG_STATUS)');
    return r.stderr;
  }
  const propose = (key: string) => [
    ...['ticket', 'propose', key, '--runbook', 'marker'],
    ...['--param', `dir=${world.markerDir}/past`, '--senior', 'alice'],
  ];

  it('on an Approved ticket, approve and propose say to run it or reject it first; on a Done one, to open a new ticket', async () => {
    const { key } = await proposed('past');
    await ok(['ticket', 'approve', key, '--key', world.people.alice.keyFile], asAlice);

    const again = await refused(
      ['ticket', 'approve', key, '--key', world.people.bob.keyFile],
      asBob,
    );
    expect(again).toContain(`${key} is "Approved"`);
    expect(again).toContain(`opsbook ticket run ${key}`);
    expect(again).toContain(`opsbook ticket reject ${key} --reason`);
    expect(again).not.toContain('ask the engineer to propose');
    const proposeApproved = await refused(propose(key));
    expect(proposeApproved).toContain(`opsbook ticket run ${key}`);
    expect(proposeApproved).toContain(`opsbook ticket reject ${key} --reason`);

    // The advice works: the ticket runs, and a second senior accepts it (Done).
    await mkdir(`${world.markerDir}/past`, { recursive: true });
    await ok(['ticket', 'run', key, '--quiet']);
    await ok(['ticket', 'accept', key, '--key', world.people.bob.keyFile], asBob);

    const newTicket = 'further work needs a new ticket (opsbook ticket open --summary …)';
    const proposeDone = await refused(propose(key));
    expect(proposeDone).toContain(`${key} is "Done"`);
    expect(proposeDone).toContain(newTicket);
    expect(proposeDone).not.toContain('reject');
    const rejectDone = await refused(
      ['ticket', 'reject', key, '--reason', 'redo', '--key', world.people.alice.keyFile],
      asAlice,
    );
    expect(rejectDone).toContain(newTicket);
    const approveDone = await refused(
      ['ticket', 'approve', key, '--key', world.people.alice.keyFile],
      asAlice,
    );
    expect(approveDone).toContain(newTicket);
    expect(approveDone).not.toContain('propose');
    await expectOk(
      world.opsbook(['ticket', 'open', '--summary', 'web: further work']),
      'ticket open',
    );
  });
});
