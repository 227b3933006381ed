import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planApproval, readEnvelope, statementOf } from './approval-craft.js';
import { createWorld, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { markerRunbook } from './runbook-fixtures.js';

/*
 * The run limit and the validity window are part of what a senior signs, so they are stated where
 * the senior decides: in the proposal comment on the ticket, and in what `ticket approve` and
 * `approve` print, which is printed before the signature is made (the plan view's `valid` line).
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

/** The plan view's line for a window and run limit. */
const validLine = (s: { notBefore: string; expiresAt: string; maxRuns: number }) =>
  `valid    ${s.notBefore} → ${s.expiresAt}, at most ${s.maxRuns} run${s.maxRuns === 1 ? '' : 's'}`;

describe('the run limit and validity window on the ticket', () => {
  it('are in the proposal comment and in what ticket propose and ticket approve print, before the approval line', async () => {
    const opened = await ok(['ticket', 'open', '--summary', 'web: marker missing', '--json']);
    const key = (JSON.parse(opened.stdout) as { key: string }).key;
    const dir = path.join(world.markerDir, 'ticket');
    const proposed = await ok([
      ...['ticket', 'propose', key, '--runbook', 'marker', '--param', `dir=${dir}`],
      ...['--max-runs', '50', '--expires', '7d', '--senior', 'alice'],
    ]);
    const shown = JSON.parse((await ok(['ticket', 'show', key, '--json'])).stdout) as {
      local: { comments: { body: unknown }[] };
    };
    const comments = shown.local.comments.map((c) => JSON.stringify(c.body));
    const proposal = comments.find((c) => c.includes('Proposed plan: marker'));
    const window =
      /valid (\S+) to (\S+), at most 50 run\(s\), as proposed; the approving senior may change both with opsbook ticket approve --expires and --max-runs/.exec(
        proposal ?? '',
      );
    expect(window, proposal).not.toBeNull();
    const statement = { notBefore: window![1]!, expiresAt: window![2]!, maxRuns: 50 };
    expect(Date.parse(statement.expiresAt) - Date.parse(statement.notBefore)).toBe(7 * 86_400_000);
    expect(proposed.stdout).toContain(validLine(statement));

    const approved = await ok(
      ['ticket', 'approve', key, '--key', world.people.alice.keyFile],
      asAlice,
    );
    const at = approved.stdout.indexOf(validLine(statement));
    expect(at, approved.stdout).toBeGreaterThanOrEqual(0);
    expect(at).toBeLessThan(approved.stdout.indexOf(`approved ${key} as Alice Senior`));
  });
});

describe('opsbook approve', () => {
  it('prints the window and run limit it signs, the ones the senior set included, before the signed line', async () => {
    const dir = path.join(world.markerDir, 'approve');
    const file = await planApproval(world, 'marker', 'window.json', {
      params: { dir },
      extra: ['--max-runs', '50', '--expires', '7d'],
    });
    const approved = await ok([
      ...['approve', file, '--key', world.people.alice.keyFile],
      ...['--max-runs', '4', '--expires', '2d'],
    ]);
    const signed = statementOf(await readEnvelope(file));
    expect(signed.maxRuns).toBe(4);
    expect(Date.parse(signed.expiresAt) - Date.parse(signed.notBefore)).toBe(2 * 86_400_000);
    const at = approved.stdout.indexOf(validLine(signed));
    expect(at, approved.stdout).toBeGreaterThanOrEqual(0);
    expect(at).toBeLessThan(approved.stdout.indexOf(`signed ${file} as`));
    expect(approved.stdout).not.toContain('at most 50 runs');
  });

  it('prints nothing to sign when the signature is refused', async () => {
    const dir = path.join(world.markerDir, 'refused');
    const file = await planApproval(world, 'marker', 'refused.json', { params: { dir } });
    const refused = await world.opsbook([
      ...['approve', file, '--key', world.people.alice.keyFile],
      ...['--expires', '30d'],
    ]);
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain('nothing was signed');
    expect(refused.stdout).not.toContain('valid ');
    expect((await readEnvelope(file)).signatures).toEqual([]);
  });
});
