import { loadTrustedStore } from '@opsbook/approval';
import { Outbox, type Tracker } from '@opsbook/tracker';
import { describe, expect, it } from 'vitest';
import { commentTicket, isProvenStep, readHistory, rejectTicket } from '../src/index.js';
import { trailOf } from './ticket-trail.js';
import { openAs, proposeMarkDone, useTicketWorld } from './ticket-world.js';

/*
 * After a senior asks for more data (`ticket reject --need-data`), the engineer supplies it on
 * the same ticket with `ticket comment`: their words, files they collected, and the output of a
 * read-only runbook run under its standing approval (as `ticket open --evidence` collects it),
 * named by their key and signed in `opsbook.history`, through the outbox like every write.
 */

describe.each(['local', 'cloud', 'datacenter'] as const)(
  'ticket comment on the %s tracker',
  (kind) => {
    const current = useTicketWorld(kind);

    it('adds the data a senior asked for to the ticket: text, files and an evidence run, signed by the engineer', async () => {
      const { world, fake } = current;
      const services = world.as('eve');
      const { key } = await openAs(world, services, 'web-01: /var/log nearly full');
      await proposeMarkDone(world, services, key);
      await rejectTicket({
        services: world.as('sam'),
        config: world.config,
        key,
        signer: world.sam,
        text: 'attach df -i for /var/log',
        needData: true,
      });
      const done = await commentTicket({
        services,
        config: world.config,
        env: world.env,
        executorSigner: world.eve,
        signal: new AbortController().signal,
        key,
        text: 'df -i /var/log:\n/dev/sda1 inodes 97% used',
        files: [{ filename: 'df-i.txt', bytes: new TextEncoder().encode('IUse% 97%\n') }],
        evidence: { runbook: 'collect-diagnostics' },
      });
      expect(done.report.pending).toEqual([]);
      const runId = done.evidence?.outcome.runId;
      expect(done.evidence?.outcome.status).toBe('ok');
      const trail = await trailOf(world, fake, key);
      const comment = trail.comments.at(-1)!;
      expect(comment).toContain(
        `Data added by Eve Engineer (eve, key ${world.eve.publicKey.fingerprint})`,
      );
      expect(comment).toContain('/dev/sda1 inodes 97% used');
      expect(comment).toMatch(
        new RegExp(`Evidence: collect-diagnostics \\S+, run ${runId} \\(ok\\)`),
      );
      expect(comment).toContain(`attached: df-i.txt, ${runId}.evidence.txt`);
      expect(trail.attachments).toEqual(
        expect.arrayContaining(['df-i.txt', `${runId}.evidence.txt`]),
      );
      const step = (await readHistory(services.tracker, key)).at(-1)!;
      expect(step).toMatchObject({
        step: 'commented',
        by: { id: 'eve' },
        evidenceRun: runId,
        attachments: ['df-i.txt', `${runId}.evidence.txt`],
      });
      const { store } = await loadTrustedStore(world.config.trustPinDir, world.config.trustStore);
      expect(isProvenStep(step, store)).toBe(true);
      // The ticket stays where the senior sent it: the engineer proposes again from there.
      expect((await services.tracker.get(key)).status).toBe('Open');
      await proposeMarkDone(world, services, key);
    });

    it('refuses a comment with nothing in it', async () => {
      const { world } = current;
      const services = world.as('eve');
      const { key } = await openAs(world, services, 'web-01: quiet');
      await expect(
        commentTicket({
          services,
          config: world.config,
          env: world.env,
          executorSigner: world.eve,
          signal: new AbortController().signal,
          key,
          text: '  \n',
        }),
      ).rejects.toMatchObject({ kind: 'invalid' });
    });
  },
);

describe('ticket comment when the tracker does not take the writes', () => {
  const current = useTicketWorld('local');

  it('keeps the comment and its file in the outbox, and delivers them once on flush', async () => {
    const { world } = current;
    const services = world.as('eve');
    const { key } = await openAs(world, services, 'web-01: /var/log nearly full');
    // Reads answer, writes fail (a read-only tracker folder): what the outbox is for.
    const refusing = new Proxy(services.tracker, {
      get(target, name) {
        const value = Reflect.get(target, name, target) as unknown;
        if (typeof value !== 'function') return value;
        if (['comment', 'attach', 'setProperty', 'writeAll'].includes(String(name)))
          return () =>
            Promise.reject(
              Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' }),
            );
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    }) as Tracker;
    const down = {
      ...services,
      outbox: new Outbox({ stateDir: world.config.stateDir, tracker: refusing }),
    };
    const done = await commentTicket({
      services: down,
      config: world.config,
      env: world.env,
      executorSigner: world.eve,
      signal: new AbortController().signal,
      key,
      text: 'inodes at 97%',
      files: [{ filename: 'df-i.txt', bytes: new TextEncoder().encode('97%\n') }],
    });
    expect(done.report.delivered).toBe(0);
    expect(done.report.pending.length).toBe(3);
    expect((await trailOf(world, undefined, key)).comments.join('\n')).not.toContain(
      'inodes at 97%',
    );
    await services.outbox.flush();
    await services.outbox.flush();
    const trail = await trailOf(world, undefined, key);
    expect(trail.comments.filter((c) => c.includes('inodes at 97%'))).toHaveLength(1);
    expect(trail.attachments.filter((a) => a === 'df-i.txt')).toHaveLength(1);
    expect((await readHistory(services.tracker, key)).at(-1)).toMatchObject({ step: 'commented' });
  });
});
