import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hashOfLine } from '@opsbook/state';
import { describe, expect, it } from 'vitest';
import { approveTicket, reportRuns } from '../src/index.js';
import {
  openAs,
  proposeMarkDone,
  runKilledBeforeReport,
  type TicketWorld,
  useTicketWorld,
} from './ticket-world.js';

type Line = Record<string, unknown> & { type: string };

/*
 * `ticket report` attaches the files a run's health.report steps wrote, as its journal names
 * them. The journal is in the engineer's state dir, and its chain uses no key: rewritten whole
 * (with its ledger line), it can name any path. The runner account that reports the run must
 * not read its own files (its SSH key, a token file) and attach them to the ticket.
 */

const RUNNER_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nrunner-account-key-material\n';

/** Rewrites the run's journal with a health.report step naming `files`, chain and ledger redone. */
async function forgeReportFiles(
  world: TicketWorld,
  runId: string,
  files: string[],
  markdown = 'report',
) {
  const { stateDir } = world.config;
  const journal = path.join(stateDir, 'runs', `${runId}.jsonl`);
  const lines = (await readFile(journal, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
  const events = lines.map(({ seq: _s, at: _a, prev: _p, hash: _h, ...e }) => e as Line);
  const host = String(events.find((e) => e.type === 'host-start')?.host);
  const forged: Line = {
    type: 'step-end',
    host,
    phase: 'evidence',
    step: 'report',
    status: 'ok',
    exitCode: 0,
    signal: null,
    durationMs: 1,
    stdout: '',
    stderr: '',
    truncated: false,
    uses: 'health.report',
    result: { files, markdown },
  };
  events.splice(events.length - 1, 0, forged);
  let prev = lines[0]!.prev as string;
  const out: string[] = [];
  for (const [i, e] of events.entries()) {
    const line: Record<string, unknown> = { seq: i + 1, at: lines[0]!.at, prev, ...e };
    line.hash = hashOfLine(line);
    prev = line.hash as string;
    out.push(JSON.stringify(line));
  }
  await writeFile(journal, `${out.join('\n')}\n`);
  const ledger = path.join(stateDir, 'ledger.jsonl');
  const rewritten = (await readFile(ledger, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => {
      const r = JSON.parse(l) as Record<string, unknown>;
      return r.type === 'run-end' && r.runId === runId
        ? JSON.stringify({ ...r, head: prev, count: events.length })
        : l;
    });
  await writeFile(ledger, `${rewritten.join('\n')}\n`);
}

describe('ticket report attaches only the report files a run wrote', () => {
  const current = useTicketWorld('cloud');

  it("does not attach a file of the runner's that a rewritten journal names, nor one linked into the reports folder", async () => {
    const { fake, world } = current;
    const { config } = world;
    const eve = world.as('eve');
    const { key } = await openAs(world, eve, 'health report reported late');
    await proposeMarkDone(world, eve, key);
    await approveTicket({ services: world.as('sam'), config, key, signer: world.sam });
    const runId = (await runKilledBeforeReport(world, eve, key)).outcome.runId;

    // The runner account's key, outside the state dir; and a real report file of the run.
    const secret = path.join(world.dir, 'runner-home-id_ed25519');
    await writeFile(secret, RUNNER_KEY, { mode: 0o600 });
    const reports = path.join(config.stateDir, 'reports', runId);
    await mkdir(reports, { recursive: true });
    await writeFile(path.join(reports, 'health.md'), '# Health\nall fine\n');
    // A report file turned into a link to the key, and a run's reports folder that is a link to
    // the key's folder.
    await symlink(secret, path.join(reports, 'linked.html'));
    const other = 'run-0000-linked';
    await symlink(world.dir, path.join(config.stateDir, 'reports', other));
    await forgeReportFiles(world, runId, [
      secret,
      path.join(reports, 'linked.html'),
      path.join(config.stateDir, 'reports', other, path.basename(secret)),
      path.join(reports, 'health.md'),
    ]);

    await reportRuns({ services: eve, config, key });
    const attachments = fake!.issue(key)!.attachments;
    const posted = attachments.map((a) => Buffer.from(a.bytes).toString());
    expect(posted.join('\n')).not.toContain('runner-account-key-material');
    // The report the run did write is still attached.
    expect(attachments.map((a) => a.filename)).toContain('health.md');
    expect(attachments.map((a) => a.filename)).not.toContain('linked.html');
    // Each refused file is named on the ticket, for the senior who checks the run.
    const comments = fake!.issue(key)!.comments.map((c) => JSON.stringify(c.body));
    expect(comments.filter((c) => c.includes('opsbook did not attach'))).toHaveLength(3);
  });

  it('posts no comment for a health report whose Markdown has no text (Jira refuses an empty comment), and reports the run', async () => {
    const { fake, world } = current;
    const { config } = world;
    const eve = world.as('eve');
    const { key } = await openAs(world, eve, 'health report with a blank summary');
    await proposeMarkDone(world, eve, key);
    await approveTicket({ services: world.as('sam'), config, key, signer: world.sam });
    const runId = (await runKilledBeforeReport(world, eve, key)).outcome.runId;
    await forgeReportFiles(world, runId, [], ' \n\n ');

    const done = await reportRuns({ services: eve, config, key });
    expect(done.reported.map((r) => r.runId)).toEqual([runId]);
    expect(done.left).toEqual([]);
    expect(await eve.outbox.list()).toEqual([]);
    expect(fake!.issue(key)!.status).toBe('review');
    expect(fake!.violations()).toEqual([]);
  });
});
