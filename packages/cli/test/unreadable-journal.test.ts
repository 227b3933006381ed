import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { filesStore } from '@opsbook/state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stackTrace, userEnv } from './run-cli.js';
import { daysAgo, journalRun, runIdAt, workingCopy } from './stats-history.js';

/*
 * A journal that cannot be read at all (a folder where the file was, a symbolic link that loops)
 * is handled as one that does not verify: runs list marks its run tampered and names the file,
 * stats, report and catalog leave it out and name it, and the other runs are shown as ever.
 * `runs show` of that run says which file cannot be read and why, in one message, no stack.
 */

const NOW = Date.now();
const at = (days: number) => daysAgo(days, NOW);
const intactId = runIdAt(at(3), 'intact');
const folderId = runIdAt(at(2), 'folder');
const loopId = runIdAt(at(1), 'loopsy');

let root: string;
let dir: string;
const journalOf = (runId: string) => path.join(dir, '.opsbook', 'runs', `${runId}.jsonl`);

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'opsbook-unreadable-journal-'));
  dir = await workingCopy(path.join(root, 'site'), ['daily-inspection']);
  const store = filesStore(path.join(dir, '.opsbook'));
  for (const [runId, days] of [
    [intactId, 3],
    [folderId, 2],
    [loopId, 1],
  ] as const) {
    await journalRun(store, {
      runId,
      runbook: 'daily-inspection',
      version: '1.0.0',
      at: at(days),
      seconds: 10,
      status: 'ok',
      hosts: { 'web-1': { steps: [{ phase: 'steps', step: 'disk', status: 'ok' }], status: 'ok' } },
    });
  }
  await store.close();
  await rm(journalOf(folderId));
  await mkdir(journalOf(folderId));
  await rm(journalOf(loopId));
  await symlink(`${loopId}.jsonl`, journalOf(loopId));
});

afterAll(() => rm(root, { recursive: true, force: true }));

const cli = (args: string[]) =>
  runCli(args, { cwd: dir, env: userEnv({ OPSBOOK_DATABASE_URL: '' }) });

function expectNoStack(r: { stdout: string; stderr: string }): void {
  expect(r.stdout + r.stderr).not.toMatch(stackTrace);
  expect(r.stderr).not.toMatch(/unexpected error/);
}

describe('a journal that cannot be read', () => {
  it('runs list marks its run tampered, naming the file and why; the other run is listed as it ended', async () => {
    const json = await cli(['runs', 'list', '--json']);
    expect(json.code).toBe(0);
    const runs = JSON.parse(json.stdout).runs as Array<{
      runId: string;
      status: string;
      problem?: string;
      ticket?: string;
    }>;
    expect(Object.fromEntries(runs.map((r) => [r.runId, r.status]))).toEqual({
      [intactId]: 'ok',
      [folderId]: 'tampered',
      [loopId]: 'tampered',
    });
    const folder = runs.find((r) => r.runId === folderId)!;
    expect(folder.problem).toBe(
      `its journal ${journalOf(folderId)} cannot be read: it is a folder, not a file (EISDIR)`,
    );
    // What the ledger recorded of it is still shown: it can be found by its ticket.
    expect(folder.ticket).toBe('OPS-7');
    expect(runs.find((r) => r.runId === loopId)!.problem).toContain(
      'its symbolic links go round in a loop (ELOOP)',
    );
    const text = await cli(['runs', 'list']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`${intactId}\\s+ok`));
    expect(text.stdout).toMatch(new RegExp(`${folderId}\\s+tampered`));
    expect(text.stderr).toContain(
      `run ${folderId} is not shown as it ended: its journal ${journalOf(folderId)} cannot be read: it is a folder, not a file (EISDIR); see opsbook journal verify ${folderId}`,
    );
    expectNoStack(text);
  });

  it('runs show of that run says which file cannot be read and why; of another run, shows it', async () => {
    const r = await cli(['runs', 'show', folderId]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${journalOf(folderId)}: cannot read the journal of run ${folderId}: it is a folder, not a file (EISDIR)`,
    );
    expect(r.stderr).toContain(`opsbook journal verify ${folderId}`);
    expectNoStack(r);
    const loop = await cli(['runs', 'show', loopId]);
    expect(loop.code).toBe(2);
    expect(loop.stderr).toContain('its symbolic links go round in a loop (ELOOP)');
    const intact = await cli(['runs', 'show', intactId]);
    expect(intact.code).toBe(0);
    expect(intact.stdout).toContain('intact');
  });

  it('stats, report, catalog and backup list leave both runs out and name them, and count the other', async () => {
    const stats = await cli(['stats', '--json']);
    expect(stats.code).toBe(0);
    const s = JSON.parse(stats.stdout);
    expect(s.leftOut.map((l: { runId: string }) => l.runId)).toEqual([folderId, loopId]);
    expect(s.leftOut[0].reason).toContain(`${journalOf(folderId)} cannot be read`);
    expect(s.runbooks[0].outcomes.ok).toBe(1);
    const since = at(5).toISOString();
    const report = await cli(['report', '--format', 'json', '--since', since]);
    expect(report.code).toBe(0);
    const leftOut = JSON.parse(report.stdout).leftOutRuns.map((l: { runId: string }) => l.runId);
    expect(leftOut.sort()).toEqual([folderId, loopId]);
    const catalog = await cli(['catalog', '--out', 'site', '--json']);
    expect(catalog.code).toBe(0);
    const c = JSON.parse(catalog.stdout).catalog;
    expect(c.leftOut.map((l: { runId: string }) => l.runId)).toEqual([folderId, loopId]);
    const text = await cli(['stats']);
    expect(text.code).toBe(0);
    // Its Markdown names them under "Left out".
    expect(text.stdout).toContain(`run \`${folderId}\``);
    // backup list --history names them as it names a journal that does not verify (exit 3).
    const backups = await cli(['backup', 'list', '--history', '--json']);
    expect(backups.code).toBe(3);
    const problems = JSON.parse(backups.stdout).problems as Array<{
      runId: string;
      message: string;
    }>;
    expect(problems.map((p) => p.runId)).toEqual([folderId, loopId]);
    expect(problems[0]!.message).toContain('it is a folder, not a file (EISDIR)');
    for (const r of [stats, report, catalog, text, backups]) expectNoStack(r);
  });
});
