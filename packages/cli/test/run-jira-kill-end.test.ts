import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planApproval } from './approval-craft.js';
import {
  createWorld,
  expectOk,
  firstCtrlC,
  useJiraTracker,
  type World,
  waitFor,
} from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { slowRunbook } from './runbook-fixtures.js';

/*
 * `opsbook run` killed (SIGKILL) during its ticket's end writes: Jira (the spec-validating fake)
 * has taken the run's summary comment but holds its answer, so the dead runner never learned
 * that it went through. Its end waits in the outbox; `ticket show` says so; one `outbox flush`
 * delivers the rest, and nothing reaches the ticket twice.
 */

let world: World;
let fake: JiraFake;
beforeAll(async () => {
  fake = await startJiraFake({ flavour: 'cloud' });
  world = await createWorld({ hostCount: 1, runbooks: { slow: slowRunbook } });
  await mkdir(world.stateDir, { recursive: true }); // createSite copies it
});
afterAll(async () => {
  await world?.remove();
  await fake?.close();
});

/** A site whose tracker is the Jira fake, and an approval of `slow` on h1 for a new Approved issue. */
async function jiraSiteWithApproval(name: string) {
  const site = await world.createSite(name);
  await useJiraTracker(world, site);
  const env = fake.env;
  const issue = fake.seed({ summary: name, status: 'approved' });
  const dir = path.join(world.markerDir, name);
  await mkdir(dir);
  const file = await planApproval(site, 'slow', `${name}.json`, {
    ticket: issue.key,
    params: { dir, seconds: '1' },
    target: 'h1',
    env,
  });
  await expectOk(
    site.opsbook(['approve', file, '--key', world.people.alice.keyFile], { env }),
    'approve',
  );
  return { site, env, issue, file };
}

describe('opsbook run killed while Jira takes its end writes', () => {
  it('leaves the end in the outbox, and one flush delivers each write exactly once', async () => {
    const { site, env, issue, file } = await jiraSiteWithApproval('jira-kill-end');
    // The start's comment goes through; the end's summary is applied, then its answer held.
    fake.inject({
      fault: { kind: 'hang' },
      afterHandling: true,
      method: 'post',
      path: '/comment',
      skip: 1,
    });
    const running = site.spawnOpsbook(['run', file], { env });
    await waitFor(() => fake.requests().some((r) => r.status === 'hang'), 'Jira to hold a write');
    running.child.kill('SIGKILL');
    await running.done;
    fake.clearFaults();

    const shown = await site.opsbook(['ticket', 'show', issue.key], { env });
    expect(shown.stderr).not.toMatch(stackTrace);
    expect(shown.stdout).toContain(
      "its end waits in this machine's outbox (the tracker did not take it); opsbook outbox flush delivers it",
    );
    const flush = await site.opsbook(['outbox', 'flush'], { env });
    expect(flush.code, flush.stderr).toBe(0);
    expect(flush.stdout).toMatch(/^delivered [1-9]\d* write\(s\); 0 still waiting; 0 refused$/m);
    const again = await site.opsbook(['outbox', 'flush'], { env });
    expect(again.stdout).toContain('delivered 0 write(s); 0 still waiting; 0 refused');

    const ticket = fake.issue(issue.key)!;
    const runId = /^run (\S+):/m.exec(running.stderr())?.[1];
    expect(runId).toBeDefined();
    const comments = (text: string) =>
      ticket.comments.filter((c) => JSON.stringify(c.body).includes(text));
    expect(comments(`opsbook run ${runId}: ok`)).toHaveLength(1);
    expect(comments(`Run ${runId} started by`)).toHaveLength(1);
    expect(ticket.attachments.filter((a) => a.filename === `${runId}.journal.jsonl`)).toHaveLength(
      1,
    );
    expect(ticket.status).toBe('review');
    expect(ticket.history.map((h) => h.to)).toEqual(['inProgress', 'review']);
    expect(fake.violations()).toEqual([]);
  });

  it('on a second Ctrl-C while Jira holds its end, says the run had ended and names ticket report, not a reject', async () => {
    const { site, env, issue, file } = await jiraSiteWithApproval('jira-ctrl-c-end');
    const hangs = () => fake.requests().filter((r) => r.status === 'hang').length;
    const before = hangs();
    fake.inject({ fault: { kind: 'hang' }, method: 'post', path: '/comment', skip: 1 });
    const running = site.spawnOpsbook(['run', file], { env });
    await waitFor(() => hangs() > before, 'Jira to hold the end summary');
    await firstCtrlC(running);
    running.child.kill('SIGINT');
    const r = await running.done;
    fake.clearFaults();
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code).toBe(130);
    const runId = /^run (\S+):/m.exec(r.stderr)?.[1];
    expect(r.stderr).toContain(
      `run ${runId} has ended; its records and its ticket's end writes are being finished`,
    );
    expect(r.stderr).toContain(
      `stopped now: run ${runId} had ended, its end is in its journal (opsbook runs show ${runId}); what its ticket ${issue.key} was not told yet waits in this machine's outbox, or was not queued yet: opsbook ticket report ${issue.key} sends or reports it`,
    );
    expect(r.stderr).not.toContain('stays incomplete');
    const list = await site.opsbook(['runs', 'list'], { env });
    expect(list.stdout).toMatch(new RegExp(`^${runId}\\s+ok\\s`, 'm'));

    const report = await site.opsbook(['ticket', 'report', issue.key, '--approval', file], { env });
    expect(report.stderr).not.toMatch(stackTrace);
    expect(report.code, report.stderr).toBe(0);
    const ticket = fake.issue(issue.key)!;
    expect(
      ticket.comments.filter((c) => JSON.stringify(c.body).includes(`opsbook run ${runId}: ok`)),
    ).toHaveLength(1);
    expect(ticket.status).toBe('review');
    expect(fake.violations()).toEqual([]);
  });
});
