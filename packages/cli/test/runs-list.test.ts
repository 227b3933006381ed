import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { filesStore } from '@opsbook/state';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, userEnv } from './run-cli.js';

let dir: string;

/** A run as the runner journals it: claimed, run-start, run-end, its end recorded. */
async function recordRun(
  runId: string,
  fields: { ticket: string; runbook: string; hosts: string[]; status: 'ok' | 'failed'; at: string },
) {
  const store = filesStore(path.join(dir, '.opsbook'));
  await store.claimRun({ approvalId: `apr-${runId}`, maxRuns: 1, runId, ticket: fields.ticket });
  const journal = await store.createJournal(runId, { clock: () => new Date(fields.at) });
  await journal.append({
    type: 'run-start',
    runId,
    ticket: fields.ticket,
    runbook: { name: fields.runbook, version: '1.0.0' },
    approval: { id: `apr-${runId}` },
    hosts: fields.hosts,
  });
  await journal.append({
    type: 'run-end',
    status: fields.status,
    hosts: Object.fromEntries(fields.hosts.map((h) => [h, fields.status])),
  });
  await journal.close();
  await store.recordRunEnd({
    runId,
    head: journal.head,
    count: journal.count,
    status: fields.status,
  });
}

async function list(
  ...args: string[]
): Promise<{ code: number | null; ids: string[]; err: string }> {
  const r = await runCli(['runs', 'list', '--json', ...args], { cwd: dir, env: userEnv() });
  const ids =
    r.code === 0 ? (JSON.parse(r.stdout).runs as { runId: string }[]).map((x) => x.runId) : [];
  return { code: r.code, ids, err: r.stderr };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-runs-list-'));
  await writeFile(
    path.join(dir, 'opsbook.yaml'),
    'apiVersion: opsbook/v1\nkind: Config\ninventory: inventory.yaml\n',
  );
  await writeFile(
    path.join(dir, 'inventory.yaml'),
    [
      'all:',
      '  children:',
      '    web: {hosts: {web-1: {ansible_host: 127.0.0.2}, web-2: {ansible_host: 127.0.0.3}}}',
      '    db: {hosts: {db-1: {ansible_host: 127.0.0.4}}}',
      '',
    ].join('\n'),
  );
  await recordRun('20250301-000000-aaaaaa', {
    ticket: 'OPS-1',
    runbook: 'disk-cleanup',
    hosts: ['web-1', 'web-2'],
    status: 'ok',
    at: '2025-03-01T00:00:00Z',
  });
  await recordRun('20250302-000000-bbbbbb', {
    ticket: 'OPS-2',
    runbook: 'pg-backup',
    hosts: ['db-1'],
    status: 'failed',
    at: '2025-03-02T00:00:00Z',
  });
  await recordRun('20250303-000000-cccccc', {
    ticket: 'OPS-1',
    runbook: 'disk-cleanup',
    hosts: ['web-2'],
    status: 'failed',
    at: '2025-03-03T00:00:00Z',
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('opsbook runs list filters the history', () => {
  it('by ticket, runbook and state', async () => {
    expect((await list()).ids).toEqual([
      '20250303-000000-cccccc',
      '20250302-000000-bbbbbb',
      '20250301-000000-aaaaaa',
    ]);
    expect((await list('--ticket', 'OPS-1')).ids).toEqual([
      '20250303-000000-cccccc',
      '20250301-000000-aaaaaa',
    ]);
    expect((await list('--runbook', 'pg-backup')).ids).toEqual(['20250302-000000-bbbbbb']);
    expect((await list('--status', 'failed', '--ticket', 'OPS-1')).ids).toEqual([
      '20250303-000000-cccccc',
    ]);
  });

  it('by host, by inventory group, and by start time, newest first, at most --limit', async () => {
    expect((await list('--host', 'web-1')).ids).toEqual(['20250301-000000-aaaaaa']);
    expect((await list('--group', 'web')).ids).toEqual([
      '20250303-000000-cccccc',
      '20250301-000000-aaaaaa',
    ]);
    expect((await list('--host', 'db-1,web-1')).ids).toEqual([
      '20250302-000000-bbbbbb',
      '20250301-000000-aaaaaa',
    ]);
    expect((await list('--since', '2025-03-02', '--until', '2025-03-02')).ids).toEqual([
      '20250302-000000-bbbbbb',
    ]);
    expect((await list('--limit', '1')).ids).toEqual(['20250303-000000-cccccc']);
  });

  it('by the hosts of another inventory (-i) or of an Ansible pattern over it (--target)', async () => {
    await writeFile(
      path.join(dir, 'db-only.yaml'),
      'all:\n  children:\n    db: {hosts: {db-1: {ansible_host: 127.0.0.4}}}\n',
    );
    expect((await list('-i', 'db-only.yaml')).ids).toEqual(['20250302-000000-bbbbbb']);
    expect((await list('--target', 'web:!web-2')).ids).toEqual(['20250301-000000-aaaaaa']);
    expect((await list('--target', 'web', '--status', 'failed')).ids).toEqual([
      '20250303-000000-cccccc',
    ]);
    // --group then names the groups of that inventory; --host narrows within it.
    expect((await list('-i', 'db-only.yaml', '--group', 'db')).ids).toEqual([
      '20250302-000000-bbbbbb',
    ]);
    expect((await list('-i', 'db-only.yaml', '--host', 'web-1')).ids).toEqual([]);
  });

  it('says which option is wrong, exit 2, without a stack trace', async () => {
    for (const [args, says] of [
      [['--status', 'done'], /--status "done" is not one of ok, failed/],
      [['--limit', '0'], /--limit "0" is not a positive whole number/],
      [['--group', 'nope'], /no group "nope" in the inventory; its groups: db, web/],
      [['--since', 'yesterday'], /--since/],
      [['--target', 'nosuch'], /nosuch/],
      [['-i', 'missing.yaml'], /missing\.yaml/],
    ] as const) {
      const r = await list(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(says);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });
});
