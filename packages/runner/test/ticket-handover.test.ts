import { startJiraFake } from '@opsbook/testkit/jira';
import { describe, expect, it } from 'vitest';
import { acceptTicket, approveTicket, openTicket, openTracker, runTicket } from '../src/index.js';
import { trailOf } from './ticket-trail.js';
import { proposeMarkDone, startTicketWorld, TEAM, useTicketWorld } from './ticket-world.js';

const signal = new AbortController().signal;

describe.each([['local'], ['cloud'], ['datacenter']] as const)(
  'the hand-over to review on the %s tracker',
  (kind) => {
    const current = useTicketWorld(kind);

    it('gives the ticket at In Review to the senior the approver named, and keeps it with whoever accepts', async () => {
      const { fake, world } = current;
      const { config } = world;
      const eve = world.as('eve');
      const { key } = await openTicket({
        services: eve,
        config,
        env: world.env,
        executorSigner: world.eve,
        signal,
        summary: 'marker missing',
      });
      await proposeMarkDone(world, eve, key);
      // Only a senior reviews; refused before anything is signed or written.
      await expect(
        approveTicket({ services: eve, config, key, signer: world.sam, reviewer: 'eve' }),
      ).rejects.toMatchObject({ code: 'REVIEWER_NOT_SENIOR', kind: 'refused' });
      expect((await eve.tracker.get(key)).status).toBe('Awaiting Approval');
      await approveTicket({ services: eve, config, key, signer: world.sam, reviewer: 'vic' });
      const outcome = await runTicket({
        services: eve,
        config,
        key,
        env: world.env,
        executorSigner: world.eve,
        signal,
      });
      expect(outcome.status).toBe('ok');
      const vic = world.cast.verifier ?? 'vic';
      const review = await trailOf(world, fake, key);
      expect(review.assignee).toBe(vic);
      const handover = review.comments.at(-1)!;
      expect(handover).toContain('Ready for review');
      expect(handover).toContain(`opsbook ticket accept ${key}`);
      expect(handover).not.toContain('As an approver');
      expect(review.mentions.at(-1)).toEqual([vic]);
      await acceptTicket({ services: eve, config, key, signer: world.vic });
      const done = await trailOf(world, fake, key);
      expect(done.statuses.at(-1)).toBe('Done');
      expect(done.assignee).toBe(vic);
    });
  },
);

describe.each([['cloud'], ['datacenter']] as const)(
  'ticket open when %s Jira refuses the credentials',
  (flavour) => {
    const current = useTicketWorld(flavour);

    const open = (env: NodeJS.ProcessEnv) => {
      const { world } = current;
      const services = openTracker(world.config, env, {
        http: { timeoutMs: 1500, effects: { sleep: async () => {} } },
      });
      const opened = openTicket({
        services,
        config: world.config,
        env: world.env,
        executorSigner: world.eve,
        signal,
        summary: 'disk full on db-3',
      });
      return { services, opened };
    };

    it('fails at once on 401 or 403, queues nothing and creates nothing; an outage still queues', async () => {
      const { world } = current;
      const fake = current.fake!;
      const before = fake.issues().length;
      const wrong = { ...world.env, JIRA_API_TOKEN: 'expired-token', JIRA_PAT: 'expired-pat' };
      const unauthorised = open(wrong);
      await expect(unauthorised.opened).rejects.toMatchObject({
        kind: 'unreachable',
        code: 'TRACKER_AUTH_REJECTED',
        message: expect.stringContaining('Nothing was created or queued'),
      });
      expect(await unauthorised.services.outbox.list()).toEqual([]);

      fake.inject({ fault: { kind: 'status', status: 403 }, method: 'post', path: '/issue' });
      const forbidden = open(world.env);
      await expect(forbidden.opened).rejects.toMatchObject({
        kind: 'unreachable',
        code: 'TRACKER_FORBIDDEN',
        message: expect.stringContaining('"Create Issues" permission'),
      });
      expect(await forbidden.services.outbox.list()).toEqual([]);
      expect(fake.issues()).toHaveLength(before);

      // Jira down is an outage: the ticket waits in the outbox and is created later, once.
      await fake.down();
      const outage = open(world.env);
      const queued = await outage.opened;
      expect(queued.key).toMatch(/^outbox:/);
      await fake.up();
      const flushed = await outage.services.outbox.flush();
      expect(flushed.failed).toEqual([]);
      expect(flushed.pending).toEqual([]);
      expect(fake.issues()).toHaveLength(before + 1);
      expect(fake.issues().at(-1)?.reporter?.name).toBe('eve');
    });

    it('opens the ticket as the bot, naming the engineer in the first comment, when Jira refuses to set the reporter', async () => {
      await current.fake?.close();
      await current.world.close();
      const fake = await startJiraFake({ flavour, users: TEAM, canSetReporter: false });
      current.fake = fake;
      current.world = await startTicketWorld(fake);
      const { world } = current;
      const { opened } = open(world.env);
      const { key } = await opened;
      const issue = fake.issue(key)!;
      expect(issue.reporter?.name).toBe('opsbook-bot');
      const trail = await trailOf(world, fake, key);
      expect(trail.comments[0]).toContain(
        `Opened by Eve Engineer (eve, key ${world.eve.publicKey.fingerprint})`,
      );
      expect(trail.assignee).toBe(world.cast.engineer);
    });
  },
);
