import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '@opsbook/schema';
import { hashOfLine, stateStoreOf } from '@opsbook/state';
import { describe, expect, it } from 'vitest';
import {
  acceptTicket,
  approveTicket,
  reportRuns,
  runApproved,
  runTicket,
  showTicket,
  TicketGate,
} from '../src/index.js';
import { trailOf } from './ticket-trail.js';
import { openAs, proposeMarkDone, runKilledBeforeReport, useTicketWorld } from './ticket-world.js';

type Line = Record<string, unknown> & { type: string };

/**
 * What an engineer can do to their own state dir (the audit's steps): rewrite the run's journal
 * to look like no host was reached (run-start and host-start kept, every step dropped, each host
 * ended unreachable, the chain recomputed with hashOfLine), and replace the ledger's end of the
 * run with one that pins that journal as `reached: false`. After a `kill -9` the ledger holds no
 * end; here the run ended before its report, so its true end line is dropped first.
 */
async function forgeUnreached(config: Config, runId: string): Promise<void> {
  const file = path.join(config.stateDir, 'runs', `${runId}.jsonl`);
  const lines = (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
  const start = lines[0]!;
  const hosts = (start.hosts as string[] | undefined) ?? [];
  const kept = lines
    .filter((l) => l.type === 'run-start' || l.type === 'host-start')
    .map(({ seq: _s, at: _a, prev: _p, hash: _h, ...event }) => event as Line);
  const events: Line[] = [
    ...kept,
    ...hosts.map((host) => ({ type: 'host-end', host, status: 'unreachable', error: 'refused' })),
    {
      type: 'run-end',
      status: 'unreachable',
      hosts: Object.fromEntries(hosts.map((h) => [h, 'unreachable'])),
      interrupted: false,
      stoppedByFailures: false,
    },
  ];
  let prev = start.prev as string;
  let seq = start.seq as number;
  const out: string[] = [];
  for (const e of events) {
    const line: Record<string, unknown> = { seq, at: start.at, prev, ...e };
    line.hash = hashOfLine(line);
    prev = line.hash as string;
    seq += 1;
    out.push(JSON.stringify(line));
  }
  await writeFile(file, `${out.join('\n')}\n`);
  const ledger = path.join(config.stateDir, 'ledger.jsonl');
  const kept2 = (await readFile(ledger, 'utf8'))
    .trim()
    .split('\n')
    .filter((l) => {
      const r = JSON.parse(l) as { type: string; runId: string };
      return !(r.type === 'run-end' && r.runId === runId);
    });
  const end = {
    type: 'run-end',
    runId,
    head: prev,
    count: events.length,
    status: 'unreachable',
    at: new Date().toISOString(),
    reached: false,
  };
  await writeFile(ledger, `${[...kept2, JSON.stringify(end)].join('\n')}\n`);
}

const trackers = [['local'], ['cloud']] as const;

describe.each(trackers)('a run reported late on the %s tracker', (kind) => {
  const current = useTicketWorld(kind);

  it('counts a run whose end `ticket report` writes, however the state dir was edited to call it unreached (maxRuns 1 gives one run)', async () => {
    const { world } = current;
    const { config } = world;
    const signal = new AbortController().signal;
    const eve = world.as('eve');
    const { key } = await openAs(world, eve, 'late report of an edited run');
    await proposeMarkDone(world, eve, key);
    const approved = await approveTicket({
      services: world.as('sam'),
      config,
      key,
      signer: world.sam,
    });
    const { outcome } = await runKilledBeforeReport(world, eve, key);
    const { runId } = outcome;
    await forgeUnreached(config, runId);
    // The premise: the engineer's state store is fooled, and the journal verifies.
    const store = stateStoreOf(config);
    const used = await store.approvalRuns(approved.approval.approvalId);
    expect(used.find((r) => r.runId === runId)?.used).toBe(false);

    const done = await reportRuns({ services: eve, config, key });
    expect(done.reported.map((r) => r.runId)).toEqual([runId]);
    const record = (await showTicket(eve, key)).runs.find((r) => r.runId === runId)!;
    expect(record.reached).toBeUndefined();
    expect(record.endReportedBy).toBe('ticket report');
    // The run counted, and it used the only run: the ticket goes to review, no run follows.
    expect((await eve.tracker.get(key)).status).toBe('In Review');
    await expect(
      runTicket({ services: eve, config, key, env: world.env, executorSigner: world.eve, signal }),
    ).rejects.toMatchObject({ kind: 'refused' });
  });

  it('counts a run whose record an earlier `ticket report` left as reached: false', async () => {
    const { world } = current;
    const { config } = world;
    const signal = new AbortController().signal;
    const eve = world.as('eve');
    const { key } = await openAs(world, eve, 'old late report of an edited run');
    await proposeMarkDone(world, eve, key);
    await approveTicket({ services: world.as('sam'), config, key, signer: world.sam });
    const { outcome } = await runKilledBeforeReport(world, eve, key);
    await forgeUnreached(config, outcome.runId);
    // What `ticket report` of opsbook before this fix wrote: no word of who reported the end.
    const property = `opsbook.run.${outcome.runId}`;
    const claim = (await eve.tracker.getProperty(key, property)) as Record<string, unknown>;
    await eve.tracker.setProperty(key, property, {
      ...claim,
      status: 'unreachable',
      reached: false,
    });
    await expect(
      runTicket({ services: eve, config, key, env: world.env, executorSigner: world.eve, signal }),
    ).rejects.toMatchObject({ code: 'RUNS_EXHAUSTED' });
  });

  it("the live runner counts a run whose steps it started, even when the state dir is edited to say otherwise before the ticket's report", async () => {
    const { world } = current;
    const { config } = world;
    const signal = new AbortController().signal;
    const eve = world.as('eve');
    const { key } = await openAs(world, eve, 'state dir edited while the run ends');
    await proposeMarkDone(world, eve, key);
    await approveTicket({ services: world.as('sam'), config, key, signer: world.sam });
    const file = path.join(world.dir, `${key}.approval.json`);
    await writeFile(
      file,
      ((await eve.tracker.getProperty(key, 'opsbook.approval')) as { envelope: string }).envelope,
    );
    // The engineer races the runner: right after the ledger records the run's end (the real
    // store of this state dir, as the runner uses it), before the runner counts and reports.
    const store = stateStoreOf(config);
    const recordRunEnd = store.recordRunEnd;
    store.recordRunEnd = async (end) => {
      await recordRunEnd.call(store, end);
      await forgeUnreached(config, end.runId);
    };
    let outcome: Awaited<ReturnType<typeof runApproved>>;
    try {
      outcome = await runApproved({
        config,
        approvalFile: file,
        env: world.env,
        executorSigner: world.eve,
        signal,
        ticket: new TicketGate({ services: eve, store, signal }),
      });
    } finally {
      store.recordRunEnd = recordRunEnd;
    }
    expect(outcome.status).toBe('ok');
    // What the engineer is told agrees with the ticket: the run used the approval's only run.
    expect(outcome.approvalUse).toEqual({ used: true, runsLeft: 0 });
    const record = (await showTicket(eve, key)).runs.find((r) => r.runId === outcome.runId)!;
    expect(record.reached).toBeUndefined();
    expect(record.endReportedBy).toBe('runner');
    expect((await eve.tracker.get(key)).status).toBe('In Review');
  });

  it('marks a late-reported run on the ticket, and `ticket accept` refuses it unless the senior accepts the late report explicitly', async () => {
    const { fake, world } = current;
    const { config } = world;
    const eve = world.as('eve');
    const { key } = await openAs(world, eve, 'late report accepted only explicitly');
    await proposeMarkDone(world, eve, key);
    await approveTicket({ services: world.as('sam'), config, key, signer: world.sam });
    // Its journal could be one the engineer wrote after killing the runner mid-step (the chain
    // has no key): `ticket report` cannot tell, so every late end is marked as late.
    const { outcome } = await runKilledBeforeReport(world, eve, key);
    const { runId } = outcome;
    await reportRuns({ services: eve, config, key });
    expect((await eve.tracker.get(key)).status).toBe('In Review');
    const record = (await showTicket(eve, key)).runs.find((r) => r.runId === runId)!;
    expect(record.endReportedBy).toBe('ticket report');
    const summary = (await trailOf(world, fake, key)).comments.find((c) =>
      c.includes(`opsbook run ${runId}: ok`),
    )!;
    expect(summary).toContain(`opsbook run ${runId}: ok (end reported late)`);
    expect(summary).toContain('reported afterwards');
    expect(summary).toContain('can edit');
    // Said before the results it qualifies.
    expect(summary.indexOf('reported afterwards')).toBeLessThan(summary.indexOf('Post-checks'));

    const vic = world.as('vic');
    await expect(
      acceptTicket({ services: vic, config, key, signer: world.vic }),
    ).rejects.toMatchObject({
      kind: 'refused',
      code: 'RUN_REPORTED_LATE',
      message: expect.stringContaining('--accept-late-report'),
    });
    expect((await eve.tracker.get(key)).status).toBe('In Review');
    const accepted = await acceptTicket({
      services: vic,
      config,
      key,
      signer: world.vic,
      acceptLateReport: true,
    });
    expect(accepted.acceptance.run).toMatchObject({ id: runId, endReportedBy: 'ticket report' });
    expect((await eve.tracker.get(key)).status).toBe('Done');
  });
});
