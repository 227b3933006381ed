import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile, readEnvelope, statementOf } from './approval-craft.js';
import { createWorld, exists, type World, waitFor } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { journalFiles, readJournal } from './run-outcome.js';
import { slowRunbook } from './runbook-fixtures.js';

/*
 * The moment between a run's journal end and its ledger end, held open by a ledger lock that
 * another process keeps (as a second opsbook run would): the runner either waits past its lock
 * retries and says so, or is killed (SIGKILL) while it waits. Either way the hosts' work is done
 * and journaled; what the engineer is told, and what `ticket report`, `runs list` and
 * `--retry-failed` make of it afterwards. Real sshd hosts, the real binary.
 */

let world: World;
beforeAll(async () => {
  world = await createWorld({ hostCount: 2, runbooks: { slow: slowRunbook } });
  await mkdir(world.stateDir, { recursive: true }); // createSite copies it
});
afterAll(async () => {
  await world?.remove();
});

/** A site whose run of `slow` on h1 and h2 meets a ledger lock held by this (live) process. */
async function runIntoLockedLedger(name: string) {
  const site = await world.createSite(name);
  const dir = path.join(world.markerDir, name);
  await mkdir(dir);
  const file = await approvedFile(site, 'slow', `${name}.json`, [world.people.alice], {
    params: { dir, seconds: '1' },
    target: 'h1:h2',
    // A second run left, so that --retry-failed gets as far as the run it retries.
    extra: ['--max-runs', '2'],
  });
  const { ticket } = statementOf(await readEnvelope(file));
  const before = new Set(await journalFiles(site));
  const running = site.spawnOpsbook(['run', file]);
  await waitFor(() => exists(path.join(dir, 'h1.started')), 'the first step to start');
  // The run's claim is made: from now on only its end needs the ledger.
  const lock = path.join(site.stateDir, 'ledger.lock');
  await writeFile(lock, `${process.pid}\n`);
  const journal = async () => (await journalFiles(site)).find((f) => !before.has(f))!;
  return { site, dir, file, ticket, running, journal, unlock: () => rm(lock) };
}

describe("a run whose ledger end waits for another process's lock", () => {
  it('says that the run ended ok on its hosts and that its ticket was told, not only that the ledger is locked', async () => {
    const { site, dir, ticket, running, journal, unlock } = await runIntoLockedLedger('locked');
    const r = await running.done;
    await unlock();
    const runId = path.basename(await journal(), '.jsonl');
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.stderr).toMatch(
      new RegExp(
        `^error \\(LEDGER_LOCKED\\): the run ledger is locked by process ${process.pid} .*\\. The run ended ok and its journal \\S+ is complete, but the store does not pin it; opsbook journal verify ${runId} shows the \\d+ event\\(s\\) written; its ticket ${ticket} was told how it ended\\.$`,
        'm',
      ),
    );
    expect(r.code).toBe(1);
    expect((await readdir(dir)).filter((f) => f.endsWith('.second')).sort()).toEqual([
      'h1.second',
      'h2.second',
    ]);
    const verify = await site.opsbook(['journal', 'verify', runId]);
    expect(verify.stdout).toContain(`✓ ${runId}  intact (complete`);
  }, 120_000);

  it('killed while it waits, leaves a complete journal that ticket report reports once, and nothing to retry', async () => {
    const { site, dir, file, ticket, running, journal, unlock } =
      await runIntoLockedLedger('killed-at-end');
    await waitFor(
      async () =>
        exists(path.join(dir, 'h1.second')) &&
        exists(path.join(dir, 'h2.second')) &&
        (await readJournal(await journal())).some((e) => e.type === 'run-end'),
      'the journal to end',
    );
    running.child.kill('SIGKILL');
    await running.done;
    await unlock();
    const runId = path.basename(await journal(), '.jsonl');
    const list = await site.opsbook(['runs', 'list']);
    expect(list.stdout).toMatch(new RegExp(`^${runId}\\s+ok\\s`, 'm'));
    const verify = await site.opsbook(['journal', 'verify', runId]);
    expect(verify.stdout).toContain(`✓ ${runId}  intact (complete`);
    expect(verify.code).toBe(0);

    const report = await site.opsbook(['ticket', 'report', ticket, '--approval', file]);
    expect(report.stderr).not.toMatch(stackTrace);
    expect(report.stdout).toMatch(new RegExp(`^reported run ${runId}: ${ticket} updated`, 'm'));
    expect(report.code).toBe(0);
    const again = await site.opsbook(['ticket', 'report', ticket, '--approval', file]);
    expect(again.stdout).toContain('nothing to report');
    const shown = await site.opsbook(['ticket', 'show', ticket, '--json']);
    const doc = JSON.parse(shown.stdout) as { local: { comments: Array<{ body: unknown }> } };
    expect(
      doc.local.comments.filter((c) => JSON.stringify(c.body).includes(`opsbook run ${runId}:`)),
    ).toHaveLength(1);

    const retry = await site.opsbook(['run', file, '--retry-failed', runId]);
    expect(retry.stderr).toContain(
      `every host of run ${runId} ended ok: there is nothing to retry`,
    );
    expect(retry.code).toBe(2);
  }, 120_000);
});
