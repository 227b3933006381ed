import { chmod, chown, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeSshKeyPair, approversYaml as storeYaml } from '@opsbook/testkit/approvers';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exists } from './opsbook-world.js';
import { type CliResult, runCli, stackTrace } from './run-cli.js';

/*
 * Issue 14, item 1, as an engineer who is not root would try it on the runner machine: the pin
 * must not be theirs to write. They own a folder (their checkout), its opsbook.yaml, state dir
 * and approvers.yaml, their own key, and their environment (OPSBOOK_TRUST_DIR included).
 */

const NOBODY = 65534;
let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let dir: string;
let marker: string;
let ownPin: string;

function asNobody(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli(args, {
    cwd: dir,
    uid: NOBODY,
    env: { HOME: dir, OPSBOOK_USER: 'mallory', SSH_AUTH_SOCK: '', ...env },
  });
}

function expectRefused(r: CliResult, code: string): void {
  expect(r.stderr).toMatch(new RegExp(`^refused \\(${code}\\): `));
  expect(r.stderr).not.toMatch(stackTrace);
  expect(r.code).toBe(3);
}

beforeAll(async () => {
  tmp = await makeTempDir('opsbook-pin-');
  // The temp folder is root's (0700); the engineer's checkout inside it is theirs.
  await chmod(tmp.dir, 0o755);
  dir = path.join(tmp.dir, 'checkout');
  marker = path.join(dir, 'markers');
  ownPin = path.join(dir, 'my-pin');
  await mkdir(path.join(dir, 'runbooks/touch'), { recursive: true });
  await mkdir(marker);
  const mallory = await makeSshKeyPair(dir, 'mallory');
  const accomplice = await makeSshKeyPair(dir, 'accomplice');
  await writeFile(
    path.join(dir, 'approvers.yaml'),
    storeYaml([
      { id: 'mallory', name: 'Mallory', roles: ['senior'], keys: [mallory.publicLine] },
      { id: 'accomplice', name: 'Accomplice', roles: ['senior'], keys: [accomplice.publicLine] },
    ]),
  );
  await writeFile(
    path.join(dir, 'opsbook.yaml'),
    'apiVersion: opsbook/v1\nkind: Config\nrunbooks: runbooks\nstateDir: state\ntrustStore: approvers.yaml\ntracker: {kind: local}\n',
  );
  await writeFile(
    path.join(dir, 'runbooks/touch/package.json'),
    '{"name": "@runbooks/touch", "version": "1.0.0", "private": true}\n',
  );
  await writeFile(
    path.join(dir, 'runbooks/touch/runbook.yaml'),
    `apiVersion: opsbook/v1
kind: Runbook
metadata: {name: touch, title: Leave a marker, category: change, grade: P4, owners: [ops-test]}
spec:
  steps:
    - {id: touch, name: Leave a marker, run: touch ${marker}/ran}
`,
  );
  await runCli(['-h'], {}); // the binary is built
  for (const f of await readdir(dir, { recursive: true }))
    await chown(path.join(dir, f), NOBODY, NOBODY);
  await chown(dir, NOBODY, NOBODY);
});
afterAll(async () => {
  await tmp?.remove();
});

describe('an engineer who is not root cannot choose the trust pin', () => {
  it('refuses to pin into a folder of their own named by OPSBOOK_TRUST_DIR', async () => {
    const r = await asNobody(['trust', 'init'], { OPSBOOK_TRUST_DIR: ownPin });
    expectRefused(r, 'TRUST_PIN_UNPROTECTED');
    expect(r.stderr).toContain('only root may move it');
    expect(exists(path.join(ownPin, 'approvers.yaml'))).toBe(false);
  });

  it('refuses a pin of their own made some other way: nothing runs under it', async () => {
    // Root pins the engineer's store into their folder (as a careless admin might), then it is
    // the engineer's: they could rewrite it at will, so it counts for nothing.
    const init = await runCli(['trust', 'init'], {
      cwd: dir,
      env: { OPSBOOK_TRUST_DIR: ownPin, HOME: dir },
    });
    expect(init.code, init.stderr).toBe(0);
    await chown(ownPin, NOBODY, NOBODY);
    // The ticket the plan is for: plan refuses one that does not exist.
    const ticket = await asNobody([
      'ticket',
      'open',
      '--summary',
      'leave a marker',
      '--key',
      path.join(dir, 'accomplice'),
    ]);
    expect(ticket.code, ticket.stderr).toBe(0);
    expect(ticket.stdout).toContain('OPS-1');
    const plan = await asNobody([
      'plan',
      'touch',
      '--ticket',
      'OPS-1',
      '--target',
      'localhost',
      '-o',
      'a.json',
      '--key',
      path.join(dir, 'accomplice'),
    ]);
    expect(plan.code, plan.stderr).toBe(0);
    const approve = await asNobody(['approve', 'a.json', '--key', path.join(dir, 'mallory')], {
      OPSBOOK_TRUST_DIR: ownPin,
    });
    expect(approve.code, approve.stderr).toBe(0); // signing needs no trust store
    const run = await asNobody(['run', 'a.json', '--key', path.join(dir, 'mallory')], {
      OPSBOOK_TRUST_DIR: ownPin,
    });
    expectRefused(run, 'TRUST_PIN_UNPROTECTED');
    expect(exists(path.join(marker, 'ran'))).toBe(false);
  });

  it('cannot point a run at another pin root made, either', async () => {
    // A pin that is root's (e.g. another team's): choosing it through the environment would
    // still let the engineer pick which seniors count.
    const rootPin = path.join(tmp.dir, 'root-pin');
    const init = await runCli(['trust', 'init'], {
      cwd: dir,
      env: { OPSBOOK_TRUST_DIR: rootPin, HOME: dir },
    });
    expect(init.code, init.stderr).toBe(0);
    const show = await asNobody(['trust', 'show'], { OPSBOOK_TRUST_DIR: rootPin });
    expect(show.stdout + show.stderr).toMatch(/TRUST_PIN_UNPROTECTED|only root may move it/);
    expect(show.code).toBe(3);
    const run = await asNobody(['run', 'a.json', '--key', path.join(dir, 'mallory')], {
      OPSBOOK_TRUST_DIR: rootPin,
    });
    expectRefused(run, 'TRUST_PIN_UNPROTECTED');
    expect(exists(path.join(marker, 'ran'))).toBe(false);
  });
});
