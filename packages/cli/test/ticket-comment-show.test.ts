import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { markerRunbook } from './runbook-fixtures.js';

/*
 * The need-data loop on the embedded tracker, from the command line: a senior asks for more data,
 * the engineer adds it to the same ticket with `ticket comment` (text from stdin, a file
 * attached), and `ticket show --comments` lets anyone read the description and every comment
 * (the proposal's commands included) as plain text, control characters written out.
 */

let world: World;
const asAlice = { env: { OPSBOOK_USER: 'alice' } };

beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { marker: markerRunbook() } });
});
afterAll(async () => {
  await world?.remove();
});

async function ok(args: string[], options?: { env?: NodeJS.ProcessEnv; input?: string }) {
  const r = await world.opsbook(args, options);
  expect(r.stderr).not.toMatch(stackTrace);
  expect(r.code, `opsbook ${args.join(' ')}\n${r.stderr}\n${r.stdout}`).toBe(0);
  return r;
}

describe('ticket comment and ticket show --comments', () => {
  it('add the data a senior asked for to the ticket, and show it with the description and the proposal', async () => {
    const opened = await ok([
      ...['ticket', 'open', '--summary', 'web: /var/log nearly full', '--json'],
      ...['--description', 'df says 91%\u001b]0;owned\u0007 on /var/log'],
    ]);
    const key = (JSON.parse(opened.stdout) as { key: string }).key;
    const dir = path.join(world.markerDir, 'need-data');
    await ok([
      ...['ticket', 'propose', key, '--runbook', 'marker', '--param', `dir=${dir}`],
      ...['--senior', 'alice'],
    ]);
    await ok(
      [
        ...['ticket', 'reject', key, '--key', world.people.alice.keyFile],
        ...['--need-data', 'attach df -i for /var/log'],
      ],
      asAlice,
    );
    const saved = path.join(world.dir, 'df-i.txt');
    await writeFile(
      saved,
      'Filesystem Inodes IUsed IFree IUse% Mounted on\n/dev/sda1 100 97 3 97% /\n',
    );
    const commented = await ok(['ticket', 'comment', key, '--file', '-', '--attach', saved], {
      input: 'inodes of /var/log are at 97%\n',
    });
    expect(commented.stdout).toContain(`commented on ${key} (attached: df-i.txt)`);

    const brief = await ok(['ticket', 'show', key]);
    expect(brief.stdout).toMatch(
      /^proposal: marker by \S+ \(plan sha256:[0-9a-f]{64}\) — SENT BACK for more data by Alice Senior at \S+$/m,
    );
    expect(brief.stdout).toContain('df says 91%\\x1b]0;owned\\x07 on /var/log');
    expect(brief.stdout).not.toContain('\u001b]0;');
    expect(brief.stdout).toMatch(
      /comments: 4 \(opsbook ticket show OPS-\d+ --comments prints them\)/,
    );
    expect(brief.stdout).not.toContain('Proposed plan: marker');

    const full = await ok(['ticket', 'show', key, '--comments']);
    const text = full.stdout;
    const from = text.indexOf('comments (4):');
    const proposal = text.indexOf('Proposed plan: marker', from);
    const needData = text.indexOf('More data needed before a decision', from);
    const added = text.indexOf('inodes of /var/log are at 97%', from);
    expect(from, text).toBeGreaterThan(0);
    expect(proposal, text).toBeGreaterThan(from);
    expect(text).toContain(`touch '${dir}'/'h1'.pre`);
    expect(needData).toBeGreaterThan(proposal);
    expect(added).toBeGreaterThan(needData);
    expect(text).toContain('attached: df-i.txt');
    // Who wrote a comment is the key that signed it, named in its text: the header names the
    // tracker's account (OPSBOOK_USER on the embedded tracker), never as the comment's author.
    const asAliceShown = await ok(['ticket', 'show', key, '--comments'], asAlice);
    expect(asAliceShown.stdout).not.toMatch(/^— alice,/m);
    expect(asAliceShown.stdout).toMatch(/^— \S+ \(posted by the tracker account \S+\)$/m);

    const json = JSON.parse((await ok(['ticket', 'show', key, '--comments', '--json'])).stdout) as {
      local: { comments: unknown[] };
      comments: { text: string; author: string | null }[];
    };
    expect(json.local.comments).toHaveLength(4);
    expect(json.comments.map((c) => c.text).join('\n')).toContain('inodes of /var/log are at 97%');
  });

  it('marks a rejected proposal in the header, until a new one is proposed', async () => {
    const opened = await ok(['ticket', 'open', '--summary', 'web: rejected', '--json']);
    const key = (JSON.parse(opened.stdout) as { key: string }).key;
    const propose = ['ticket', 'propose', key, '--runbook', 'marker', '--senior', 'alice'];
    await ok([...propose, '--param', `dir=${world.markerDir}/rejected`]);
    await ok(
      ['ticket', 'reject', key, '--key', world.people.alice.keyFile, '--reason', 'use /srv'],
      asAlice,
    );
    const shown = await ok(['ticket', 'show', key]);
    expect(shown.stdout).toMatch(/^proposal: marker .* — REJECTED by Alice Senior at \S+$/m);
    await ok([...propose, '--param', `dir=${world.markerDir}/srv`]);
    const again = await ok(['ticket', 'show', key]);
    expect(again.stdout).toMatch(/^proposal: marker by \S+ \(plan sha256:[0-9a-f]{64}\)$/m);
  });

  it('refuses a comment with nothing to add (exit 2)', async () => {
    const opened = await ok(['ticket', 'open', '--summary', 'web: quiet', '--json']);
    const key = (JSON.parse(opened.stdout) as { key: string }).key;
    const r = await world.opsbook(['ticket', 'comment', key]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('nothing to add');
  });
});
