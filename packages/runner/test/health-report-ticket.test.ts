import { cp, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LocalTracker } from '@opsbook/tracker';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { approveTicket, openTicket, proposeTicket, runTicket } from '../src/index.js';
import { journalSchemaProblems } from './journal-schema-problems.js';
import { startTicketWorld, type TicketWorld } from './ticket-world.js';

const repoRunbooks = path.resolve(import.meta.dirname, '../../../runbooks');
const fixtures = path.resolve(import.meta.dirname, '../src/__fixtures__/ticket-workflow');

/*
 * The daily health statistics duty end to end on the local tracker: a real inspection run on
 * this machine leaves findings in the journal; the shipped health-report runbook, proposed,
 * approved and run on its own ticket, posts the report's Markdown there and attaches its files.
 */
describe('health-report runbook on a ticket', () => {
  let world: TicketWorld;
  const signal = new AbortController().signal;

  beforeEach(async () => {
    world = await startTicketWorld();
    await cp(
      path.join(repoRunbooks, 'health-report'),
      path.join(world.dir, 'runbooks/health-report'),
      {
        recursive: true,
      },
    );
    await cp(
      path.join(fixtures, 'quick-inspection'),
      path.join(world.dir, 'runbooks/quick-inspection'),
      {
        recursive: true,
      },
    );
  });

  afterEach(() => world.close());

  async function runOnTicket(runbook: string, summary: string) {
    const { config } = world;
    const { key } = await openTicket({
      services: world.as('eve'),
      config,
      env: world.env,
      executorSigner: world.eve,
      signal,
      summary,
      description: 'daily duty',
      grade: 'P4',
      labels: ['daily'],
      assignee: world.cast.engineer,
    });
    await proposeTicket({
      services: world.as('eve'),
      config,
      key,
      runbook,
      params: [],
      proposerSigner: world.eve,
      senior: world.cast.senior,
    });
    await approveTicket({ services: world.as('sam'), config, key, signer: world.sam });
    const outcome = await runTicket({
      services: world.as('eve'),
      config,
      key,
      env: world.env,
      executorSigner: world.eve,
      signal,
    });
    return { key, outcome };
  }

  it('posts the Markdown of the report to the ticket and attaches the HTML, Markdown and JSON', async () => {
    const inspection = await runOnTicket('quick-inspection', 'Daily inspection of the runner');
    expect(inspection.outcome.status).toBe('ok');

    const { key, outcome } = await runOnTicket('health-report', 'Daily health report');
    expect(outcome.status).toBe('ok');
    expect(outcome.ticket?.end.pending).toEqual([]);

    const reportDir = path.join(world.config.stateDir, 'reports', outcome.runId);
    const markdown = (await readdir(reportDir)).find((f) => f.endsWith('.md'));
    expect(markdown).toBeDefined();
    const markdownText = await readFile(path.join(reportDir, markdown!), 'utf8');
    // The report read the inspection run: the runner's host and the checks it ran are in it.
    // (In the JSON: the Markdown, short for a Jira comment, names hosts only when one is not ok,
    // which depends on this machine's load and disks at the time.)
    const json = (await readdir(reportDir)).find((f) => f.endsWith('.json'));
    const jsonText = await readFile(path.join(reportDir, json!), 'utf8');
    expect(jsonText).toContain('"localhost"');
    expect(jsonText).toMatch(/inspection\.(disk|memory|load)/);

    const ticket = await (world.as('eve').tracker as LocalTracker).read(key);
    const comments = ticket.comments.map((c) => JSON.stringify(c.body));
    const firstLine = markdownText.split('\n').find((l) => l.trim() !== '')!;
    const headline = firstLine.replace(/^#+\s*/, '');
    expect(comments.filter((c) => c.includes(JSON.stringify(headline).slice(1, -1)))).toHaveLength(
      1,
    );
    const attached = ticket.attachments.map((a) => a.filename);
    for (const ext of ['.html', '.md', '.json'])
      expect(
        attached.filter((f) => f.endsWith(ext) && !f.includes('approval') && !f.includes('plan')),
        ext,
      ).toHaveLength(1);
    expect((await world.as('eve').tracker.get(key)).status).toBe('In Review');
  });

  it('writes journals whose every event validates against the run event schema', async () => {
    const inspection = await runOnTicket('quick-inspection', 'Daily inspection of the runner');
    const report = await runOnTicket('health-report', 'Daily health report');
    for (const { outcome } of [inspection, report]) {
      expect(outcome.status).toBe('ok');
      expect(outcome.journal.count).toBeGreaterThan(4);
      expect(await journalSchemaProblems(outcome.journal.location)).toEqual([]);
    }
  });
});
