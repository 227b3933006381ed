import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type KeyPair,
  makeSshKeyPair,
  approversYaml as storeYaml,
} from '@opsbook/testkit/approvers';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from './run-cli.js';

/*
 * A newcomer trial: carol, being added as a senior in version 2, ran `opsbook trust sign` and was
 * told the .sig "carries 2 signature(s)", though only seniors of the pinned version 1 count.
 * trust sign now says how many count toward the rotation, which do not and why, and what is left.
 */

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let dir: string;
let alice: KeyPair;
let bob: KeyPair;
let carol: KeyPair;

function opsbook(args: string[]): Promise<CliResult> {
  return runCli(args, {
    cwd: dir,
    env: { HOME: dir, OPSBOOK_TRUST_DIR: path.join(dir, 'trust-pin'), SSH_AUTH_SOCK: '' },
  });
}

beforeAll(async () => {
  tmp = await makeTempDir('opsbook-trust-sign-');
  dir = tmp.dir;
  [alice, bob, carol] = await Promise.all([
    makeSshKeyPair(dir, 'alice'),
    makeSshKeyPair(dir, 'bob'),
    makeSshKeyPair(dir, 'carol'),
  ]);
  await writeFile(
    path.join(dir, 'opsbook.yaml'),
    'apiVersion: opsbook/v1\nkind: Config\nrunbooks: runbooks\nstateDir: state\ntrustStore: approvers.yaml\ntracker: {kind: local}\n',
  );
  const seniors = [alice, bob].map((k) => ({
    id: k.id,
    name: k.id,
    roles: ['senior' as const],
    keys: [k.publicLine],
  }));
  await writeFile(path.join(dir, 'approvers.yaml'), storeYaml(seniors));
  const init = await opsbook(['trust', 'init']);
  expect(init.code, init.stderr).toBe(0);
  // Version 2 adds carol as a senior: only alice and bob, seniors of version 1, can make it count.
  await writeFile(
    path.join(dir, 'approvers.yaml'),
    storeYaml(
      [...seniors, { id: 'carol', name: 'carol', roles: ['senior'], keys: [carol.publicLine] }],
      { version: 2 },
    ),
  );
});
afterAll(async () => {
  await tmp?.remove();
});

describe('opsbook trust sign', () => {
  it('says which signatures count toward the rotation of the pinned version, and what is left', async () => {
    const byCarol = await opsbook(['trust', 'sign', '--key', carol.keyFile]);
    expect(byCarol.code, byCarol.stderr).toBe(0);
    expect(byCarol.stdout).toContain('approvers.yaml.sig carries 1 signature(s)');
    expect(byCarol.stdout).toContain(
      '0 of 2 needed signatures from seniors of the pinned version 1',
    );
    expect(byCarol.stdout).toContain("carol's does not count: not a senior of version 1");
    expect(byCarol.stdout).toContain('Ask 2 more senior(s) of version 1 to run opsbook trust sign');

    const byAlice = await opsbook(['trust', 'sign', '--key', alice.keyFile]);
    expect(byAlice.code, byAlice.stderr).toBe(0);
    expect(byAlice.stdout).toContain('approvers.yaml.sig carries 2 signature(s)');
    expect(byAlice.stdout).toContain(
      '1 of 2 needed signatures from seniors of the pinned version 1 (alice)',
    );
    expect(byAlice.stdout).toContain("carol's does not count: not a senior of version 1");
    expect(byAlice.stdout).toContain('Ask 1 more senior(s) of version 1');

    const byBob = await opsbook(['trust', 'sign', '--key', bob.keyFile, '--json']);
    expect(byBob.code, byBob.stderr).toBe(0);
    expect(JSON.parse(byBob.stdout)).toMatchObject({
      version: 2,
      signatures: 3,
      rotation: {
        pinnedVersion: 1,
        needed: 2,
        counted: ['alice', 'bob'],
        uncounted: [{ who: 'carol', why: 'not a senior of version 1' }],
      },
    });
    // Enough: the rotation is accepted, as the text said.
    const show = await opsbook(['trust', 'show']);
    expect(show.code, show.stdout + show.stderr).toBe(0);
    // The policy as approvers.yaml writes it, one setting a line, not as JSON.
    expect(show.stdout).toMatch(/^policy:\n {2}signatures: \d+$/m);
    expect(show.stdout).not.toContain('policy: {');
  });
});
