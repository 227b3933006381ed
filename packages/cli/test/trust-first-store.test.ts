import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeSshKeyPair } from '@opsbook/testkit/approvers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bareWorkspace } from './bare-workspace.js';
import { type CliResult, runCli, stackTrace } from './run-cli.js';

/*
 * A new team's first approvers.yaml, made with the CLI rather than by hand: trust add-approver
 * creates it (version 1) for a senior, with keys checked as the runner reads them, and trust init
 * pins it.
 */

const execFileAsync = promisify(execFile);

let dir: string;
let remove: () => Promise<void>;
const opsbook = (args: string[]): Promise<CliResult> =>
  runCli(args, {
    cwd: dir,
    env: { HOME: dir, OPSBOOK_TRUST_DIR: path.join(dir, 'pin'), SSH_AUTH_SOCK: '' },
  });
const add = (id: string, role: string, key: string) =>
  opsbook(['trust', 'add-approver', '--id', id, '--name', id, '--role', role, '--key-file', key]);

beforeAll(async () => {
  ({ dir, remove } = await bareWorkspace('opsbook-first-store-'));
  await makeSshKeyPair(dir, 'sam');
  await makeSshKeyPair(dir, 'erin');
});
afterAll(async () => {
  await remove?.();
});

describe('trust add-approver without approvers.yaml', () => {
  it('refuses an engineer as the first approver, writing nothing', async () => {
    const r = await add('erin', 'engineer', 'erin.pub');
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('its first approver must be a senior');
    expect(r.stderr).not.toMatch(stackTrace);
    await expect(readFile(path.join(dir, 'approvers.yaml'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('creates version 1 for a senior, which grows, refuses a listed id, and trust init pins', async () => {
    const created = await add('sam', 'senior', 'sam.pub');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(
      /^created .*approvers\.yaml \(version 1\) with sam as its senior/,
    );
    expect(created.stdout).toContain('sudo opsbook trust init');
    const text = await readFile(path.join(dir, 'approvers.yaml'), 'utf8');
    expect(text).toContain((await readFile(path.join(dir, 'sam.pub'), 'utf8')).trim());

    const again = await add('sam', 'senior', 'erin.pub');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("approver 'sam' already exists");
    expect(await readFile(path.join(dir, 'approvers.yaml'), 'utf8')).toBe(text);

    const erin = await add('erin', 'engineer', 'erin.pub');
    expect(erin.code, erin.stderr).toBe(0);
    expect(erin.stdout).toMatch(/^added erin to .*approvers\.yaml, now version 2/);
    // Nothing pinned yet: no rotation signature is needed, pinning is the next step.
    expect(erin.stdout).toContain('Nothing is pinned on this machine yet');
    expect(erin.stdout).not.toContain('trust sign');

    const pinned = await opsbook(['trust', 'init']);
    expect(pinned.code, pinned.stderr).toBe(0);
    expect(pinned.stdout).toMatch(/^pinned .*approvers\.yaml version 2 /);
    const shown = await opsbook(['trust', 'show']);
    // One aligned row per key, with its fingerprint as ssh-keygen -lf prints it: what a senior
    // checks against the key they hold, and what trust revoke takes.
    const rows = shown.stdout.split('\n');
    const samRow = rows.find((l) => /^ {2}sam +sam +senior /.test(l));
    const erinRow = rows.find((l) => /^ {2}erin +erin +engineer /.test(l));
    expect(samRow, shown.stdout).toBeDefined();
    expect(erinRow, shown.stdout).toBeDefined();
    for (const [row, who] of [
      [samRow, 'sam'],
      [erinRow, 'erin'],
    ] as const) {
      const listed = await execFileAsync('ssh-keygen', ['-lf', path.join(dir, `${who}.pub`)]);
      const fingerprint = listed.stdout.split(' ')[1] as string;
      expect(row).toContain(fingerprint);
      expect(row?.indexOf(fingerprint)).toBe(samRow?.indexOf('SHA256:'));
    }

    // Once a version is pinned, a change takes effect with the pinned seniors' signatures.
    await makeSshKeyPair(dir, 'val');
    const val = await add('val', 'senior', 'val.pub');
    expect(val.code, val.stderr).toBe(0);
    expect(val.stdout).toContain('senior(s) of the pinned version sign it: opsbook trust sign');
  });
});
