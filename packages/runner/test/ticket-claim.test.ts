import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stateStoreOf } from '@opsbook/state';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  APPROVAL_PROPERTY,
  approveTicket,
  openTicket,
  openTracker,
  proposeTicket,
  type RunOutcome,
  readTicketRuns,
  runApproved,
  runTicket,
  type TicketApproval,
  TicketGate,
} from '../src/index.js';
import { startTicketWorld, type TicketWorld } from './ticket-world.js';

/**
 * Working copies on different machines share no state store: each has its own state dir, so
 * only the ticket can keep an approval's maxRuns. Before, two copies starting a `maxRuns: 1`
 * approval at once both ran, and the ticket's run list kept only the last writer's run.
 */
describe.each([['cloud'], ['datacenter']] as const)(
  'claiming a run through a %s ticket, from working copies that share no state',
  (flavour) => {
    let fake: JiraFake;
    let world: TicketWorld;

    beforeEach(async () => {
      fake = await startJiraFake({ flavour });
      world = await startTicketWorld(fake);
    });

    afterEach(async () => {
      await world.close();
      await fake.closeExpectingNone();
    });

    async function approvedTicket(maxRuns: number): Promise<string> {
      const signal = new AbortController().signal;
      const eve = world.as('eve');
      const { key } = await openTicket({
        services: eve,
        config: world.config,
        env: world.env,
        executorSigner: world.eve,
        signal,
        summary: `race for ${maxRuns}`,
      });
      await proposeTicket({
        services: eve,
        config: world.config,
        key,
        runbook: 'mark-done',
        params: [`dir=${world.markerDir}`],
        proposerSigner: world.eve,
        senior: world.cast.senior,
      });
      await approveTicket({
        services: world.as('sam'),
        config: world.config,
        key,
        signer: world.sam,
        maxRuns,
      });
      return key;
    }

    /**
     * `n` runs started in the same instant, each from its own working copy's state dir (and with
     * `tracker`, the copy's own opsbook.yaml `tracker`).
     */
    async function race(key: string, n: number, tracker?: Record<string, unknown>) {
      const copies = Array.from({ length: n }, (_, i) => ({
        ...world.config,
        stateDir: path.join(world.dir, `copy-${i}`, '.opsbook'),
        ...(tracker ? { raw: { ...world.config.raw, tracker } } : {}),
      }));
      const results = await Promise.allSettled(
        copies.map((config) =>
          runTicket({
            // Each machine has its own outbox, as its own state dir.
            services: openTracker(config, { ...world.env, OPSBOOK_USER: 'eve' }),
            config,
            key,
            env: world.env,
            executorSigner: world.eve,
            signal: new AbortController().signal,
          }),
        ),
      );
      const ran = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
      const started = (
        await Promise.all(copies.map(async (c) => stateStoreOf(c).listRuns()))
      ).flat();
      return { ran, refused, started };
    }

    it('asks for the ticket, its approval and its runs at once as a run starts (each a Jira request of its own)', async () => {
      const key = await approvedTicket(1);
      const services = openTracker(world.config, { ...world.env, OPSBOOK_USER: 'eve' });
      const jira = services.tracker;
      let inFlight = 0;
      let most = 0;
      const slow = Object.create(jira) as typeof jira;
      for (const name of ['get', 'getProperty', 'propertyKeys'] as const) {
        const read = jira[name] as (...args: unknown[]) => Promise<unknown>;
        (slow as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
          inFlight++;
          most = Math.max(most, inFlight);
          try {
            await new Promise((resolve) => setTimeout(resolve, 15));
            return await read.apply(jira, args);
          } finally {
            inFlight--;
          }
        };
      }
      const outcome = await runTicket({
        services: { ...services, tracker: slow },
        config: world.config,
        key,
        env: world.env,
        executorSigner: world.eve,
        signal: new AbortController().signal,
      });
      expect(outcome.status).toBe('ok');
      // The ticket, the approval property and the old run list (or the property keys) together.
      expect(most).toBeGreaterThanOrEqual(3);
    });

    it('lets at most one of 20 copies run a maxRuns: 1 approval; the others are refused before any host', async () => {
      const key = await approvedTicket(1);
      const { ran, refused, started } = await race(key, 20);
      expect(ran.length).toBeLessThanOrEqual(1);
      expect(ran.length + refused.length).toBe(20);
      for (const e of refused) expect(e).toMatchObject({ code: 'RUNS_EXHAUSTED', kind: 'refused' });
      // A refused copy journaled nothing: every run any copy started is one that ran.
      expect(started.map((s) => s.runId).sort()).toEqual(ran.map((r) => r.runId).sort());
      // And once the race is over, the approval is used up for everyone.
      if (ran.length === 1) {
        const { refused: later } = await race(key, 1);
        expect(later[0]).toMatchObject({ kind: 'refused' });
      }
    });

    it('records every run of a maxRuns: 3 approval on the ticket, none lost to another writer', async () => {
      const key = await approvedTicket(3);
      const { ran, refused } = await race(key, 3);
      // Three copies for three runs: a claim only backs off when it sees more claims than runs.
      expect(refused).toEqual([]);
      expect(ran.map((r: RunOutcome) => r.status)).toEqual(['ok', 'ok', 'ok']);
      const recorded = await readTicketRuns(world.as('sam').tracker, key);
      expect(recorded.map((r) => r.runId).sort()).toEqual(ran.map((r) => r.runId).sort());
      expect(recorded.map((r) => [r.status, r.journalEvents! > 0])).toEqual([
        ['ok', true],
        ['ok', true],
        ['ok', true],
      ]);
      expect(ran.map((r) => r.ticket?.end.pending)).toEqual([[], [], []]);
    });
    /**
     * The engineer's own copy: a state dir of its own and an opsbook.yaml whose `tracker` is the
     * local one (the default), holding a ticket of the same key that they made Approved by
     * editing its file. With the runs counted there, a used approval would run again.
     */
    async function forgedLocalCopy(key: string, tracker: Record<string, unknown>) {
      const config = {
        ...world.config,
        stateDir: path.join(world.dir, 'attacker', '.opsbook'),
        raw: { ...world.config.raw, tracker },
      };
      const project = key.slice(0, key.lastIndexOf('-'));
      const local = openTracker(
        { ...config, raw: { ...config.raw, tracker: { kind: 'local', jira: { project } } } },
        { ...world.env, OPSBOOK_USER: 'eve' },
      ).tracker;
      for (let made = ''; made !== key; ) made = (await local.create({ summary: 'forged' })).key;
      const file = path.join(config.stateDir, 'tracker', 'tickets', `${key}.json`);
      const ticket = JSON.parse(await readFile(file, 'utf8'));
      ticket.status = 'Approved';
      await writeFile(file, JSON.stringify(ticket));
      const approval = (await world
        .as('eve')
        .tracker.getProperty(key, APPROVAL_PROPERTY)) as TicketApproval;
      const approvalFile = path.join(world.dir, 'attacker', 'used.approval.json');
      await writeFile(approvalFile, approval.envelope);
      /** The run, by default on the copy's own tracker (`services`: as another environment opens it). */
      const run = (services = openTracker(config, { ...world.env, OPSBOOK_USER: 'eve' })) =>
        runApproved({
          config,
          approvalFile,
          env: world.env,
          executorSigner: world.eve,
          signal: new AbortController().signal,
          ticket: new TicketGate({
            services,
            store: stateStoreOf(config),
            signal: new AbortController().signal,
          }),
        });
      return { config, run };
    }

    it('refuses a used approval from a copy whose opsbook.yaml names a local tracker with a forged ticket', async () => {
      const key = await approvedTicket(1);
      const { ran } = await race(key, 1);
      expect(ran).toHaveLength(1);
      const copy = await forgedLocalCopy(key, { kind: 'local', jira: { project: 'X' } });
      await expect(copy.run()).rejects.toMatchObject({
        code: 'TRACKER_MISMATCH',
        kind: 'refused',
        message: expect.stringContaining('the local tracker of the state dir'),
      });
      // Refused before anything: no run was journaled in the copy's state dir.
      expect(await stateStoreOf(copy.config).listRuns()).toEqual([]);
    });

    it('refuses an approval whose tracker is another Jira site than the one this environment names', async () => {
      const key = await approvedTicket(1);
      const other = await startJiraFake({ flavour });
      try {
        const copy = await forgedLocalCopy(
          key,
          world.config.raw.tracker as Record<string, unknown>,
        );
        const refused = copy.run(
          openTracker(copy.config, {
            ...world.env,
            OPSBOOK_USER: 'eve',
            JIRA_BASE_URL: other.baseUrl,
          }),
        );
        await expect(refused).rejects.toMatchObject({
          code: 'TRACKER_MISMATCH',
          message: expect.stringContaining(`Jira at ${other.baseUrl}`),
        });
      } finally {
        await other.closeExpectingNone();
      }
    });

    it('keeps the statuses the senior signed: renaming "Approved" in a copy\'s opsbook.yaml does not open the gate', async () => {
      const key = await approvedTicket(2);
      const { ran } = await race(key, 1);
      expect(ran).toHaveLength(1);
      const { status } = await world.as('sam').tracker.get(key);
      expect(status).not.toBe('Approved');
      const tracker = world.config.raw.tracker as { jira: Record<string, unknown> };
      const renamed = await race(key, 1, {
        ...tracker,
        jira: { ...tracker.jira, statuses: { approved: status, inProgress: status } },
      });
      expect(renamed.ran).toEqual([]);
      expect(renamed.refused[0]).toMatchObject({
        code: 'TICKET_NOT_APPROVED',
        message: expect.stringContaining('not "Approved" or "In Progress"'),
      });
    });
  },
);
