import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planApproval } from './approval-craft.js';
import { createWorld, expectOk, type Site, useJiraTracker, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { markerRunbook } from './runbook-fixtures.js';

/*
 * A run's output reaches its ticket after the run too: through the outbox (a comment Jira did
 * not take at the time) and `ticket report`. Both post with the configuration of whoever runs
 * them, so an engineer's `--config` that drops the team's comment restriction must not post a
 * run's output, restricted when the senior signed it, for everyone who can see the ticket.
 * Real binary, real sshd host, the Jira fake.
 */

let world: World;
let fake: JiraFake;

const RESTRICTED = '    commentVisibility: {type: role, value: Developers}\n';

beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { marker: markerRunbook() } });
  await mkdir(world.stateDir, { recursive: true });
  fake = await startJiraFake({ flavour: 'cloud' });
});
afterAll(async () => {
  await world?.remove();
  await fake?.close();
});

async function site(name: string): Promise<Site & { marker: string }> {
  const s = await world.createSite(name);
  await useJiraTracker(world, s, { jira: RESTRICTED });
  await useJiraTracker(world, s, { file: 'mine.yaml' });
  const marker = path.join(world.markerDir, name);
  await mkdir(marker, { recursive: true });
  return { ...s, marker };
}

async function approved(s: Site & { marker: string }) {
  const issue = fake.seed({ summary: s.dir, status: 'approved' });
  const file = await planApproval(s, 'marker', 'a.json', {
    ticket: issue.key,
    params: { dir: s.marker },
    target: 'h1',
    env: fake.env,
  });
  await expectOk(
    s.opsbook(['approve', file, '--key', world.people.alice.keyFile], { env: fake.env }),
    'approve',
  );
  return { key: issue.key, file };
}

const unrestricted = (key: string) =>
  (fake.issue(key)?.comments ?? []).filter((c) => c.visibility === undefined);

describe("a run's later posts keep the comment restriction its approval binds", () => {
  it("outbox flush with a --config that drops the restriction posts none of a run's queued comments", async () => {
    const s = await site('outbox-unrestricted');
    const { key, file } = await approved(s);
    // Jira takes no comment during the run: they wait in the outbox.
    fake.inject({
      fault: { kind: 'status', status: 503 },
      method: 'POST',
      path: '/comment',
      times: 1000,
    });
    const run = await s.opsbook(['run', file], { env: fake.env });
    fake.clearFaults();
    expect(run.stderr).not.toMatch(stackTrace);
    const listed = await s.opsbook(['outbox', 'list', '--json'], { env: fake.env });
    const queued = (JSON.parse(listed.stdout) as { entries: { write: { kind: string } }[] })
      .entries;
    expect(
      queued.some((e) => e.write.kind === 'comment'),
      listed.stdout,
    ).toBe(true);

    const flush = await s.opsbook(['outbox', 'flush', '--config', 'mine.yaml'], {
      env: fake.env,
    });
    expect(unrestricted(key)).toEqual([]);
    expect(flush.code, flush.stdout + flush.stderr).toBe(3);
    expect(flush.stdout + flush.stderr).toMatch(
      /TRACKER_MISMATCH|restricted to the role Developers/,
    );
    expect(flush.stderr).not.toMatch(stackTrace);

    // The team's configuration delivers them, restricted as signed.
    const ok = await s.opsbook(['outbox', 'flush', '--retry-failed'], { env: fake.env });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(unrestricted(key)).toEqual([]);
    expect(fake.issue(key)!.comments.length).toBeGreaterThan(0);
  });

  it('refuses ticket report with a --config that drops the restriction its approval binds', async () => {
    const s = await site('report-unrestricted');
    const { key, file } = await approved(s);
    await expectOk(s.opsbook(['run', file], { env: fake.env }), 'run');
    const before = fake.issue(key)!.comments.length;
    const report = await s.opsbook(
      ['ticket', 'report', key, '--approval', file, '--config', 'mine.yaml'],
      { env: fake.env },
    );
    expect(report.code, report.stdout + report.stderr).toBe(3);
    expect(report.stderr).toMatch(/TRACKER_MISMATCH/);
    expect(report.stderr).toMatch(/planned with comments restricted to the role Developers/);
    expect(report.stderr).not.toMatch(stackTrace);
    expect(fake.issue(key)!.comments.length).toBe(before);
    expect(unrestricted(key)).toEqual([]);
    // With the team's configuration there is simply nothing left to report.
    await expectOk(
      s.opsbook(['ticket', 'report', key, '--approval', file], { env: fake.env }),
      'ticket report',
    );
  });
});
