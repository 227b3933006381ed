import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { approversYaml, makeSshKeyPair } from '@opsbook/testkit/approvers';
import { type FakeUser, type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, stackTrace } from './run-cli.js';

/*
 * Issue 21, items 1 and 7, as an engineer types it against Jira (the spec-validating fake): a
 * ticket opened with their key names them; a token Jira refuses fails at once and leaves nothing
 * in the outbox.
 */

const users: FakeUser[] = [
  ['opsbook-bot', 'opsbook bot'],
  ['grace', 'Grace Engineer'],
].map(([name, displayName], i) => ({
  accountId: `5b10ac8d82e05b22cc7d4e0${i}`,
  name: name!,
  displayName: displayName!,
  emailAddress: i === 0 ? 'ops.engineer@example.com' : `${name}@example.com`,
}));

describe.each([['cloud'], ['datacenter']] as const)('ticket open on %s Jira', (flavour) => {
  let fake: JiraFake;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let keyFile = '';

  beforeEach(async () => {
    fake = await startJiraFake({ flavour, users });
    tmp = await makeTempDir('opsbook-jira-open-');
    const [grace, sam, val] = await Promise.all(
      ['grace', 'sam', 'val'].map((id) => makeSshKeyPair(tmp.dir, id)),
    );
    keyFile = grace!.keyFile;
    const account = flavour === 'cloud' ? users[1]!.accountId : 'grace';
    await writeFile(
      path.join(tmp.dir, 'approvers.yaml'),
      approversYaml([
        {
          id: 'grace',
          name: 'Grace Engineer',
          roles: ['engineer'],
          keys: [grace!.publicLine],
          jira: account,
        },
        { id: 'sam', name: 'Sam Senior', roles: ['senior'], keys: [sam!.publicLine] },
        { id: 'val', name: 'Val Verifier', roles: ['senior'], keys: [val!.publicLine] },
      ]),
    );
    await writeFile(
      path.join(tmp.dir, 'opsbook.yaml'),
      `apiVersion: opsbook/v1\nkind: Config\nstateDir: state\ntrustStore: approvers.yaml\ntracker: {kind: jira, jira: {project: OPS, flavour: ${flavour}}}\n`,
    );
  });

  afterEach(async () => {
    await tmp.remove();
    await fake.closeExpectingNone();
  });

  const opsbook = (args: string[], env: Record<string, string>) =>
    runCli(args, { cwd: tmp.dir, env: { HOME: tmp.dir, OPSBOOK_USER: 'mallory', ...env } });
  const open = ['ticket', 'open', '--summary', 'db-3: disk 91%', '--json'];

  it('exits 4 at once when Jira refuses the token, and queues nothing; the right token opens it as the engineer', async () => {
    const wrong = { ...fake.env, JIRA_API_TOKEN: 'revoked-token', JIRA_PAT: 'revoked-pat' };
    const refused = await opsbook([...open, '--key', keyFile], wrong);
    expect(refused.stderr).not.toMatch(stackTrace);
    expect(refused.code, refused.stderr).toBe(4);
    expect(refused.stderr).toContain('TRACKER_AUTH_REJECTED');
    expect(refused.stderr).toContain('rejected the credentials (401)');
    expect(refused.stderr).toContain('Nothing was created or queued');
    expect(refused.stderr).not.toContain('revoked-');
    const queue = await opsbook(['outbox', 'list', '--json'], fake.env);
    expect(queue.code, queue.stderr).toBe(0);
    expect(JSON.parse(queue.stdout)).toEqual({ entries: [] });
    expect(fake.issues()).toEqual([]);

    const opened = await opsbook([...open, '--key', keyFile], fake.env);
    expect(opened.code, opened.stderr).toBe(0);
    const { key } = JSON.parse(opened.stdout) as { key: string };
    const issue = fake.issue(key)!;
    expect(issue.reporter?.name).toBe('grace');
    expect(issue.assignee?.name).toBe('grace');
    expect(JSON.stringify(issue.comments[0]?.body)).toContain('Grace Engineer');
    expect(JSON.stringify(issue.comments[0]?.body)).not.toContain('mallory');
    // ticket show prints the description Jira holds, as text (ADF or wiki markup read).
    const shown = await opsbook(['ticket', 'show', key], fake.env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^description:\n {2}\S/m);
    expect(shown.stdout).not.toMatch(/"type":/);
  });

  it('refuses to open a ticket with a key approvers.yaml does not list (exit 3), before asking Jira', async () => {
    const stranger = await makeSshKeyPair(tmp.dir, 'stranger');
    const r = await opsbook([...open, '--key', stranger.keyFile], fake.env);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('PERSON_UNPROVEN');
    expect(fake.requests()).toEqual([]);
  });

  it('refuses to open a ticket with no key at all as PERSON_UNPROVEN (exit 3), before asking Jira', async () => {
    const r = await opsbook(open, fake.env);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('PERSON_UNPROVEN');
    expect(r.stderr).toContain(
      'what you write on a ticket (opening, commenting, escalating) is signed',
    );
    expect(r.stderr).toContain('--key PATH');
    expect(fake.requests()).toEqual([]);
  });
});
