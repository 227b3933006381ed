import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { approversYaml, makeSshKeyPair } from '@opsbook/testkit/approvers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bareWorkspace } from './bare-workspace.js';
import { repoRoot, runCli, stackTrace } from './run-cli.js';

let dir: string;
let remove: () => Promise<void>;
beforeAll(async () => {
  // No standing: block, so no collect-diagnostics to collect the symptoms with.
  ({ dir, remove } = await bareWorkspace('opsbook-open-usage-'));
});
afterAll(async () => {
  await remove?.();
});

describe('ticket open -i without an evidence run', () => {
  it('says there is no standing collect-diagnostics and what to do (exit 2), opening nothing', async () => {
    const r = await runCli(
      ['ticket', 'open', '--summary', 'db-3: disk 91%', '--grade', 'P3', '-i', 'hosts.yaml'],
      { cwd: dir },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "-i/--inventory chooses the hosts of an evidence run, and there is none: opsbook.yaml's standing: approves no collect-diagnostics",
    );
    expect(r.stderr).toContain('drop -i/--target to open the ticket without evidence');
    expect(r.stderr).not.toMatch(stackTrace);
    const both = await runCli(
      ['ticket', 'open', '--summary', 'x', '--no-evidence', '--target', 'all'],
      { cwd: dir },
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--no-evidence asks for none: drop one of them');
  });
});

describe('ticket open --summary with a line break', () => {
  it('refuses it (exit 2), opening nothing, and says to give the rest with --description', async () => {
    const r = await runCli(
      ['ticket', 'open', '--summary', 'db-3: disk 91%\nsince 06:00', '--no-evidence'],
      { cwd: dir, env: { HOME: dir } },
    );
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe(
      'error: --summary is one line (Jira refuses a summary with a line break): keep what is wrong, where, on it, and give the rest with --description\n',
    );
  });
});

describe('a ticket key typed in lower case', () => {
  it('is refused with the key to type (exit 2)', async () => {
    const r = await runCli(['ticket', 'show', 'ops-1'], { cwd: dir });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe(
      'error: "ops-1" is not a ticket key: did you mean OPS-1? Keys are upper case\n',
    );
  });
});

describe('a mistake in the command is said before a missing key', () => {
  // HOME without ~/.ssh: no key of the person, and none given.
  const noKey = () => ({ HOME: dir });

  it('run of an approval file that does not exist: exit 2, naming the file', async () => {
    const r = await runCli(['run', 'nonexist.json'], { cwd: dir, env: noKey() });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('nonexist.json');
    expect(r.stderr).not.toContain('EXECUTOR_UNPROVEN');
  });

  it('plan with a param of the wrong type: exit 2, naming the param', async () => {
    const r = await runCli(['plan', 'disk-cleanup', '--ticket', 'OPS-1', '--param', 'days=abc'], {
      cwd: repoRoot,
      env: noKey(),
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('days');
    expect(r.stderr).not.toContain('PROPOSER_UNPROVEN');
    expect(r.stderr).not.toMatch(stackTrace);
  });
});

describe('ticket propose without --senior', () => {
  it('names the seniors to choose from, not the engineers (exit 2)', async () => {
    const people = await Promise.all(['sam', 'val', 'erin'].map((id) => makeSshKeyPair(dir, id)));
    await writeFile(
      path.join(dir, 'approvers.yaml'),
      approversYaml([
        { id: 'sam', name: 'Sam', roles: ['senior'], keys: [people[0]!.publicLine] },
        { id: 'val', name: 'Val', roles: ['senior', 'expert'], keys: [people[1]!.publicLine] },
        { id: 'erin', name: 'Erin', roles: ['engineer'], keys: [people[2]!.publicLine] },
      ]),
    );
    const r = await runCli(['ticket', 'propose', 'OPS-1', '--runbook', 'disk-cleanup'], {
      cwd: dir,
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim()).toBe(
      `error: name the senior who reviews with --senior ID (their approvers.yaml id, or their tracker account): the seniors in ${path.join(dir, 'approvers.yaml')}: sam, val`,
    );
  });
});
