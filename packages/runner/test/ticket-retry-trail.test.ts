import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { approveTicket, readTicketRuns, runTicket } from '../src/index.js';
import { trailOf } from './ticket-trail.js';
import { openAs, proposeMarkDone, useTicketWorld } from './ticket-world.js';

/*
 * The ticket's trace of a run that failed and of its retry, as an engineer and the senior read
 * it on Jira (the spec-validating fakes): each run's summary comment, its journal and evidence
 * attached, its own record, the ticket left In Progress after the failure (runs remain) and
 * moved to In Review by the retry that ends ok, handed to the senior once.
 */
describe.each(['cloud', 'datacenter'] as const)('a failed run and its retry on Jira %s', (kind) => {
  const current = useTicketWorld(kind);

  it('leaves the failure on the ticket, In Progress with the retry named, and the retry moves it to In Review', async () => {
    const { fake, world } = current;
    const signal = new AbortController().signal;
    const eve = world.as('eve');
    const { key } = await openAs(world, eve, 'web-01: marker missing');
    await proposeMarkDone(world, eve, key, { maxRuns: 3 });
    await approveTicket({
      services: world.as('sam'),
      config: world.config,
      key,
      signer: world.sam,
    });
    // The post-check reads the marker as a file: a folder in its place fails it.
    const blocker = path.join(world.markerDir, 'marker');
    await mkdir(blocker);
    const run = (retryOf?: string) =>
      runTicket({
        services: world.as('eve'),
        config: world.config,
        key,
        env: world.env,
        executorSigner: world.eve,
        signal,
        ...(retryOf ? { retryOf } : {}),
      });
    const failed = await run();
    expect(failed.status).not.toBe('ok');
    expect(failed.ticket?.end.pending).toEqual([]);
    const issue = fake!.issue(key)!;
    expect(issue.status).toBe('inProgress');
    let trail = await trailOf(world, fake, key);
    const firstSummary = trail.comments.find((c) => c.includes(`opsbook run ${failed.runId}`));
    expect(firstSummary).toBeDefined();
    expect(firstSummary).toMatch(/Post-checks/);
    expect(firstSummary).toContain(`--retry-failed ${failed.runId}`);
    expect(trail.attachments).toEqual(
      expect.arrayContaining([`${failed.runId}.journal.jsonl`, `${failed.runId}.evidence.txt`]),
    );
    expect(trail.comments.filter((c) => c.includes('Ready for review'))).toEqual([]);

    await rm(blocker, { recursive: true });
    const retried = await run(failed.runId);
    expect(retried.status).toBe('ok');
    expect(retried.ticket?.end.pending).toEqual([]);
    expect(issue.status).toBe('review');
    trail = await trailOf(world, fake, key);
    // Each run once: its start, its summary, its journal and evidence, its record.
    for (const id of [failed.runId, retried.runId]) {
      expect(trail.comments.filter((c) => c.includes(`Run ${id} started by`))).toHaveLength(1);
      expect(trail.comments.filter((c) => c.includes(`opsbook run ${id}`))).toHaveLength(1);
      expect(trail.attachments.filter((a) => a === `${id}.journal.jsonl`)).toHaveLength(1);
      expect(trail.attachments.filter((a) => a === `${id}.evidence.txt`)).toHaveLength(1);
    }
    const retrySummary = trail.comments.find((c) => c.includes(`opsbook run ${retried.runId}`));
    // The summary a senior verifies says which run it completes: the others of its hosts ended there.
    expect(retrySummary).toContain(
      `a retry of run ${failed.runId}, of its hosts that did not end ok`,
    );
    expect(trail.comments.filter((c) => c.includes('Ready for review'))).toHaveLength(1);
    expect(trail.assignee).toBe(world.cast.senior);
    expect(trail.statuses.slice(-3)).toEqual(['Approved', 'In Progress', 'In Review']);
    const runs = await readTicketRuns(eve.tracker, key);
    expect(runs.map((r) => [r.runId, r.status])).toEqual([
      [failed.runId, failed.status],
      [retried.runId, 'ok'],
    ]);
  });
});
