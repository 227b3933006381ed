import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planApproval } from './approval-craft.js';
import { createWorld, expectOk, type World, waitFor } from './opsbook-world.js';
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

describe('opsbook run killed while Jira takes its end writes', () => {
  it('leaves the end in the outbox, and one flush delivers each write exactly once', async () => {
    const site = await world.createSite('jira-kill-end');
    await writeFile(
      path.join(site.dir, 'opsbook.yaml'),
      `apiVersion: opsbook/v1
kind: Config
runbooks: runbooks
stateDir: state
inventory: inventory.yaml
trustStore: approvers.yaml
knownHosts: ${JSON.stringify(world.knownHostsFile)}
tracker: {kind: jira, jira: {project: OPS, flavour: cloud}}
`,
    );
    const env = fake.env;
    const issue = fake.seed({ summary: 'killed during its end writes', status: 'approved' });
    const dir = path.join(world.markerDir, 'jira-kill-end');
    await mkdir(dir);
    const file = await planApproval(site, 'slow', 'jira-kill-end.json', {
      ticket: issue.key,
      params: { dir, seconds: '1' },
      target: 'h1',
      env,
    });
    await expectOk(
      site.opsbook(['approve', file, '--key', world.people.alice.keyFile], { env }),
      'approve',
    );
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
});
