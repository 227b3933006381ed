import { execFile } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planApproval } from './approval-craft.js';
import { createWorld, expectOk, type Site, useJiraTracker, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { markerRunbook } from './runbook-fixtures.js';

/*
 * The tracker binding of an approval (its Jira, the statuses a ticket must be in to run, and who
 * may read the run's output on the ticket) is made from the opsbook.yaml of whoever plans, and
 * the run gate goes by what is signed. The engineer controls their own opsbook.yaml and
 * `--config`: with them they must not get a senior to sign, or a runner to accept, a binding that
 * posts run output the team restricts to one role for everyone who can see the ticket, or that
 * runs on a ticket a senior closed. Real binary, real sshd host, the Jira fake.
 */

const execFileP = promisify(execFile);

let world: World;
let fake: JiraFake;

const RESTRICTED = '    commentVisibility: {type: role, value: Developers}\n';
const OPEN = '';
const CLOSED_AS_IN_PROGRESS =
  '    statuses: {approved: Approved, inProgress: Done}\n    commentVisibility: {type: role, value: Developers}\n';

beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { marker: markerRunbook() } });
  await mkdir(world.stateDir, { recursive: true });
  fake = await startJiraFake({ flavour: 'cloud' });
});
afterAll(async () => {
  await world?.remove();
  await fake?.closeExpectingNone();
});

/** A site whose opsbook.yaml is the team's (comments restricted to Developers), and `mine.yaml`. */
async function site(name: string, mine: string): Promise<Site & { marker: string }> {
  const s = await world.createSite(name);
  await useJiraTracker(world, s, { jira: RESTRICTED });
  await useJiraTracker(world, s, { file: 'mine.yaml', jira: mine });
  const marker = path.join(world.markerDir, name);
  await mkdir(marker, { recursive: true });
  return { ...s, marker };
}

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

async function plan(s: Site & { marker: string }, extra: string[] = []) {
  const issue = fake.seed({ summary: s.dir, status: 'approved' });
  const file = await planApproval(s, 'marker', 'a.json', {
    ticket: issue.key,
    params: { dir: s.marker },
    target: 'h1',
    env: fake.env,
    extra,
  });
  return { key: issue.key, file };
}

const signatures = async (file: string) =>
  (JSON.parse(await readFile(file, 'utf8')) as { signatures: unknown[] }).signatures.length;

describe("an approval's tracker binding against the engineer's own opsbook.yaml", () => {
  it("refuses to sign a plan made with a --config that drops the team's comment restriction", async () => {
    const s = await site('plan-unrestricted', OPEN);
    const { file } = await plan(s, ['--config', 'mine.yaml']);
    const approve = await s.opsbook(['approve', file, '--key', world.people.alice.keyFile], {
      env: fake.env,
    });
    expect(approve.code, approve.stderr).toBe(3);
    expect(approve.stderr).toMatch(/TRACKER_MISMATCH/);
    expect(approve.stderr).toMatch(/comments visible to everyone/);
    expect(approve.stderr).toMatch(/comments restricted to the role Developers/);
    expect(approve.stderr).not.toMatch(stackTrace);
    expect(await signatures(file)).toBe(0);
  });

  it('refuses to sign a plan whose run statuses would accept a closed ticket', async () => {
    const s = await site('plan-done-as-running', CLOSED_AS_IN_PROGRESS);
    const { file } = await plan(s, ['--config', 'mine.yaml']);
    const approve = await s.opsbook(['approve', file, '--key', world.people.alice.keyFile], {
      env: fake.env,
    });
    expect(approve.code, approve.stderr).toBe(3);
    expect(approve.stderr).toMatch(/TRACKER_MISMATCH/);
    expect(approve.stderr).toMatch(/"Approved" or "Done"/);
    expect(await signatures(file)).toBe(0);
  });

  it("refuses to run, with a --config that drops it, an approval signed with the team's restriction; runs with the team's", async () => {
    const s = await site('run-unrestricted', OPEN);
    const { key, file } = await plan(s);
    await expectOk(
      s.opsbook(['approve', file, '--key', world.people.alice.keyFile], { env: fake.env }),
      'approve',
    );
    const comments = () => fake.issue(key)?.comments.length ?? 0;
    const before = comments();
    const run = await s.opsbook(['run', file, '--config', 'mine.yaml'], { env: fake.env });
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toMatch(/TRACKER_MISMATCH/);
    expect(run.stderr).toMatch(/planned with comments restricted to the role Developers/);
    expect(run.stderr).not.toMatch(stackTrace);
    expect(await exists(path.join(s.marker, 'h1.pre'))).toBe(false);
    expect(comments()).toBe(before);
    // verify checks what run checks.
    const verify = await s.opsbook(['verify', file, '--config', 'mine.yaml'], { env: fake.env });
    expect(verify.code, verify.stderr).toBe(3);
    expect(verify.stderr).toMatch(/TRACKER_MISMATCH/);

    const ok = await s.opsbook(['run', file], { env: fake.env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(await exists(path.join(s.marker, 'h1.ran'))).toBe(true);
    const posted = fake.issue(key)!.comments.slice(before);
    expect(posted.length).toBeGreaterThan(0);
    for (const c of posted)
      expect(c.visibility).toMatchObject({ type: 'role', value: 'Developers' });
  });

  it("refuses to attach an ssh-keygen signature to a plan made with a --config that drops the team's comment restriction", async () => {
    const s = await site('attach-unrestricted', OPEN);
    const { file } = await plan(s, ['--config', 'mine.yaml']);
    const payload = path.join(s.dir, 'payload');
    const envelope = JSON.parse(await readFile(file, 'utf8')) as { payload: string };
    await writeFile(payload, Buffer.from(envelope.payload, 'base64'));
    await execFileP('ssh-keygen', [
      '-Y',
      'sign',
      '-n',
      'opsbook-approval',
      '-f',
      world.people.alice.keyFile,
      payload,
    ]);
    const attach = await s.opsbook(['approval', 'attach-signature', file, `${payload}.sig`], {
      env: fake.env,
    });
    expect(attach.code, attach.stderr).toBe(3);
    expect(attach.stderr).toMatch(/TRACKER_MISMATCH/);
    expect(attach.stderr).toMatch(/comments visible to everyone/);
    expect(attach.stderr).not.toMatch(stackTrace);
    expect(await signatures(file)).toBe(0);
  });
});
