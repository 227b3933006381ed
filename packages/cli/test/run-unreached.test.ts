import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { findFreePort } from '@opsbook/testkit/sshd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile, readEnvelope, statementOf } from './approval-craft.js';
import {
  createWorld,
  expectOk,
  type RunbookFixture,
  trackerOf,
  type World,
} from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { hostOf, readJournal, runApproval } from './run-outcome.js';
import { dirParam, header } from './runbook-fixtures.js';

/*
 * Issue #17 item 8, "Done means": approvals are not wasted. Through the real binary, real sshd
 * hosts and, for the team store, a real PostgreSQL: a run that reached no host does not use its
 * approval nor move its ticket to In Review; a run that reached any host does; `--retry-failed`
 * runs only the hosts that did not end ok, under the same approval while runs remain; and an
 * engineer who edits the state dir to make a reached run look unreached gets no extra run.
 */

/** Counts every attempt on a host, and fails unless `<host>.allow` exists in the folder. */
const attemptRunbook: RunbookFixture = {
  yaml: `${header('attempt', 'change', 'P3', { title: 'Count attempts, succeed where allowed' })}spec:
  params:
${dirParam}  targets: {default: all, concurrency: 3, maxFailures: 5}
  steps:
    - id: attempt
      name: Count the attempt, succeed only where allowed
      run: echo ran >> {{ params.dir }}/{{ host.name }}.runs && test -e {{ params.dir }}/{{ host.name }}.allow
`,
};

let world: World;
let pg: Postgres;
beforeAll(async () => {
  pg = await startPostgres();
  world = await createWorld({ hostCount: 2, runbooks: { attempt: attemptRunbook } });
  // A host in the inventory where nothing listens: a machine that is down.
  await world.writeInventory({
    extraHosts: {
      down: {
        ansible_host: '127.0.0.9',
        ansible_port: await findFreePort('127.0.0.9'),
        ansible_user: 'root',
        ansible_ssh_private_key_file: world.hosts[0]!.clientKeyPath,
      },
    },
  });
});
afterAll(async () => {
  await world?.remove();
  await pg?.dispose();
});

let count = 0;
/** A fresh marker folder, hosts allowed to succeed, and an approval of `attempt` by alice. */
async function approval(target: string, options: { allow?: string[]; maxRuns?: number } = {}) {
  count += 1;
  const dir = path.join(world.markerDir, `unreached-${count}`);
  await mkdir(dir);
  for (const h of options.allow ?? []) await writeFile(path.join(dir, `${h}.allow`), '');
  const file = await approvedFile(
    world,
    'attempt',
    `unreached-${count}.json`,
    [world.people.alice],
    {
      params: { dir },
      target,
      extra: ['--max-runs', String(options.maxRuns ?? 1)],
    },
  );
  const { ticket } = statementOf(await readEnvelope(file));
  return { file, dir, ticket };
}

/** How many times the step ran on `host`. */
async function attempts(dir: string, host: string): Promise<number> {
  const text = await readFile(path.join(dir, `${host}.runs`), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).length;
}

interface TicketDoc {
  ticket: { status: string };
  runs: Array<{ runId: string; reached?: boolean }>;
  local: { comments: Array<{ body: unknown }> };
}

async function ticketOf(key: string, env?: NodeJS.ProcessEnv): Promise<TicketDoc> {
  const r = await expectOk(
    world.opsbook(['ticket', 'show', key, '--json'], env ? { env } : {}),
    'ticket show',
  );
  return JSON.parse(r.stdout) as TicketDoc;
}

const logins = () => world.hosts.map((h) => h.countLogins());

/** The unreached/partial pair, on the files store and on PostgreSQL. */
function unreachedCases(store: 'files' | 'postgres', envOf: () => NodeJS.ProcessEnv) {
  it(`[${store}] a run that reached no host leaves a maxRuns: 1 approval usable and its ticket In Progress`, async () => {
    const env = envOf();
    const [h1, h2] = world.hosts as [World['hosts'][0], World['hosts'][0]];
    const { file, dir, ticket } = await approval('h1:h2', { allow: ['h1', 'h2'] });
    /** Runs with h1 down (connection refused) and these known_hosts lines for h2. */
    const runUnreachable = async (h2Lines: string[]) => {
      await h1.stop();
      await world.writeKnownHosts([h1.knownHostsLine, ...h2Lines]);
      try {
        return await runApproval(world, file, [], env);
      } finally {
        await h1.restart();
        await world.writeKnownHosts();
      }
    };
    // h2's host key unknown, then changed (known_hosts holds h1's key for it): twice unreached.
    const changed = `${h2.knownHostsLine.split(' ')[0]} ${h1.hostPublicKey}`;
    const unknownKey = await runUnreachable([]);
    expect(hostOf(unknownKey.doc, 'h2').error).toContain('does not know');
    expect(JSON.parse(unknownKey.stdout).approvalUse).toEqual({ used: false, runsLeft: 1 });
    const first = await runUnreachable([changed]);
    expect(first.stderr).not.toMatch(stackTrace);
    expect(first.code).toBe(4);
    expect(hostOf(first.doc, 'h1').status).toBe('unreachable');
    expect(hostOf(first.doc, 'h2').error).toContain('This can be an attack');
    expect(JSON.parse(first.stdout).approvalUse).toEqual({ used: false, runsLeft: 1 });
    expect(await attempts(dir, 'h1')).toBe(0);
    expect(await attempts(dir, 'h2')).toBe(0);
    const after = await ticketOf(ticket, env);
    expect(after.ticket.status).toBe('In Progress');
    expect(after.runs.map((r) => r.reached)).toEqual([false, false]);
    expect(JSON.stringify(after.local.comments.at(-1))).toContain(
      'No host was reached (no step started), so this run did not use the approval',
    );
    const shown = await world.opsbook(['runs', 'show', first.doc!.runId], { env });
    expect(shown.stdout).toContain('not used by this run (no host was reached, no step started)');
    // The same approval runs once the hosts can be reached, and that run uses it.
    const second = await runApproval(world, file, [], env);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout).approvalUse).toEqual({ used: true, runsLeft: 0 });
    expect([await attempts(dir, 'h1'), await attempts(dir, 'h2')]).toEqual([1, 1]);
    expect((await ticketOf(ticket, env)).ticket.status).toBe('In Review');
    const third = await world.opsbook(['run', file], { env });
    expect(third.stderr).toMatch(/^refused \(RUNS_EXHAUSTED\)/);
    expect(third.code).toBe(3);
  });

  it(`[${store}] a run that reached one host uses the approval, however the others went`, async () => {
    const env = envOf();
    const { file, dir, ticket } = await approval('h1:down', { allow: ['h1'] });
    const first = await runApproval(world, file, [], env);
    expect(first.code).toBe(4);
    expect(hostOf(first.doc, 'h1').status).toBe('ok');
    expect(hostOf(first.doc, 'down').status).toBe('unreachable');
    expect(JSON.parse(first.stdout).approvalUse).toEqual({ used: true, runsLeft: 0 });
    expect((await ticketOf(ticket, env)).ticket.status).toBe('In Review');
    const before = logins();
    const second = await world.opsbook(['run', file], { env });
    expect(second.stderr).toMatch(/^refused \(RUNS_EXHAUSTED\)/);
    expect(second.code).toBe(3);
    expect(await attempts(dir, 'h1')).toBe(1);
    expect(logins()).toEqual(before);
  });
}

describe('a run that reached no host does not use its approval', () => {
  unreachedCases('files', () => ({}));
  let database: NodeJS.ProcessEnv | undefined;
  unreachedCases('postgres', () => {
    if (!database) throw new Error('no database');
    return database;
  });
  beforeAll(async () => {
    await pg.psql('create database unreached');
    database = {
      OPSBOOK_DATABASE_URL: `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/unreached`,
    };
    await expectOk(world.opsbook(['db', 'migrate'], { env: database }), 'opsbook db migrate');
  });
});

describe('opsbook run --retry-failed', () => {
  it('runs only the hosts that did not end ok, under the same approval, while runs remain', async () => {
    const { file, dir, ticket } = await approval('h1:h2:down', { allow: ['h1'], maxRuns: 3 });
    // What the senior read before signing says so.
    const shownPlan = await expectOk(world.opsbook(['plan', '--show', file]), 'plan --show');
    expect(shownPlan.stdout).toContain(
      'hosts not reached do not use a run; failed hosts can be retried with --retry-failed while runs remain (maxRuns 3)',
    );
    const dry = await world.opsbook(['run', file, '--dry-run', '--retry-failed', 'x']);
    expect(dry.stderr).toContain('--retry-failed runs hosts: it does not go with --dry-run');
    expect(dry.code).toBe(2);
    const first = await runApproval(world, file);
    expect(first.code).toBe(1);
    expect(first.doc?.hosts.map((h) => [h.host, h.status])).toEqual([
      ['h1', 'ok'],
      ['h2', 'failed'],
      ['down', 'unreachable'],
    ]);
    expect(JSON.parse(first.stdout).approvalUse).toEqual({ used: true, runsLeft: 2 });
    // Runs are left and the run did not end ok: the ticket stays In Progress for the retry.
    expect((await ticketOf(ticket)).ticket.status).toBe('In Progress');

    await writeFile(path.join(dir, 'h2.allow'), '');
    const retry = await runApproval(world, file, ['--retry-failed', first.doc!.runId]);
    expect(retry.stderr).not.toMatch(stackTrace);
    expect(retry.code).toBe(4); // down is still down
    expect(retry.doc?.hosts.map((h) => [h.host, h.status])).toEqual([
      ['h2', 'ok'],
      ['down', 'unreachable'],
    ]);
    expect(JSON.parse(retry.stdout)).toMatchObject({
      retryOf: first.doc!.runId,
      approvalUse: { used: true, runsLeft: 1 },
    });
    expect([await attempts(dir, 'h1'), await attempts(dir, 'h2')]).toEqual([1, 2]);
    const [start] = await readJournal(retry.doc!.journal.path);
    expect(start).toMatchObject({ type: 'run-start', retryOf: first.doc!.runId });
    expect(start!.hosts).toEqual(['h2', 'down']);
    const shown = await world.opsbook(['runs', 'show', retry.doc!.runId]);
    expect(shown.stdout).toContain(`retry of run ${first.doc!.runId}`);

    // A retry of the retry takes only what is still not ok (a unique prefix of its id will
    // do): the host that is down, never reached, so that run does not use the approval.
    const again = await world.opsbook([
      'run',
      file,
      '--retry-failed',
      retry.doc!.runId.slice(0, -2),
    ]);
    expect(again.code).toBe(4);
    expect(again.stdout).toContain(`(retry of ${retry.doc!.runId}) unreachable`);
    expect(again.stdout).toContain(
      'no host was reached (no step started): this run did not use the approval (1 run(s) of the approval left)',
    );
    expect(again.stdout).toMatch(/^down +unreachable/m);
    expect(again.stdout).toContain('0 of 1 host(s) ok');
    expect((await ticketOf(ticket)).ticket.status).toBe('In Progress');
    expect([await attempts(dir, 'h1'), await attempts(dir, 'h2')]).toEqual([1, 2]);
  });

  it('refuses a run of another approval, and a run with nothing to retry', async () => {
    const done = await approval('h1', { allow: ['h1'], maxRuns: 2 });
    const ok = await runApproval(world, done.file);
    expect(ok.code).toBe(0);
    const nothing = await world.opsbook(['run', done.file, '--retry-failed', ok.doc!.runId]);
    expect(nothing.stderr).not.toMatch(stackTrace);
    expect(nothing.stderr).toContain(`every host of run ${ok.doc!.runId} ended ok`);
    expect(nothing.code).toBe(2);

    const failed = await approval('h1');
    const run = await runApproval(world, failed.file);
    expect(run.code).toBe(1);
    const other = await approval('h1', { allow: ['h1'], maxRuns: 2 });
    const before = logins();
    const r = await world.opsbook(['run', other.file, '--retry-failed', run.doc!.runId]);
    expect(r.stderr).toMatch(
      /^refused \(RETRY_REFUSED\): cannot retry run \S+: it is a run of approval/,
    );
    expect(r.code).toBe(3);
    expect(logins()).toEqual(before);
    expect(await attempts(other.dir, 'h1')).toBe(0);
  });
});

describe('an engineer who edits the state dir to make a reached run look unreached', () => {
  /** A used maxRuns: 1 approval: h1 ran its step, down was unreachable. */
  async function usedApproval() {
    const a = await approval('h1:down', { allow: ['h1'] });
    const r = await runApproval(world, a.file);
    expect(JSON.parse(r.stdout).approvalUse.used).toBe(true);
    return { ...a, runId: r.doc!.runId, journalPath: r.doc!.journal.path };
  }

  async function expectNoExtraRun(a: { file: string; dir: string }, why = /./) {
    const before = logins();
    const r = await world.opsbook(['run', a.file]);
    expect(r.stderr).toMatch(/^refused \(RUNS_EXHAUSTED\)/);
    expect(r.stderr).toMatch(why);
    expect(r.code).toBe(3);
    expect(await attempts(a.dir, 'h1')).toBe(1);
    expect(logins()).toEqual(before);
  }

  const ledger = () => path.join(world.stateDir, 'ledger.jsonl');

  /** Rewrites the ledger's run-end of `runId` through `edit`. */
  async function editLedgerEnd(runId: string, edit: (r: Record<string, unknown>) => void) {
    const lines = (await readFile(ledger(), 'utf8')).trimEnd().split('\n');
    const edited = lines.map((l) => {
      const r = JSON.parse(l) as Record<string, unknown>;
      if (r.type === 'run-end' && r.runId === runId) edit(r);
      return JSON.stringify(r);
    });
    await writeFile(ledger(), `${edited.join('\n')}\n`);
  }

  it('gets no extra run by marking its ledger end reached: false', async () => {
    const a = await usedApproval();
    await editLedgerEnd(a.runId, (r) => {
      r.reached = false;
    });
    await expectNoExtraRun(a);
  });

  it('gets no extra run by dropping the step events from its journal as well, re-chained', async () => {
    const a = await usedApproval();
    const { createHash } = await import('node:crypto');
    const { canonicalJson } = await import('@opsbook/schema');
    const events = (await readJournal(a.journalPath)).filter(
      (e) => e.type !== 'step-start' && e.type !== 'step-end',
    );
    let prev = events[0]!.prev;
    const lines = events.map((e, i) => {
      const { hash: _old, ...rest } = { ...e, seq: i + 1, prev };
      const hash = `sha256:${createHash('sha256').update(canonicalJson(rest)).digest('hex')}`;
      prev = hash;
      return JSON.stringify({ ...rest, hash });
    });
    await writeFile(a.journalPath, `${lines.join('\n')}\n`);
    await editLedgerEnd(a.runId, (r) => {
      r.reached = false;
    });
    // Without its pin the journal does not verify: the run still counts.
    await expectNoExtraRun(a);
    // Re-pinned too, the state dir alone would free it. Even with the ticket moved back to In
    // Progress (Jira's workflow lets the engineer), the ticket's record of the run counts it.
    await editLedgerEnd(a.runId, (r) => {
      r.head = prev;
      r.count = lines.length;
    });
    const shown = await world.opsbook(['runs', 'show', a.runId, '--json']);
    expect(JSON.parse(shown.stdout)).toMatchObject({ usedApproval: false });
    const tracker = await trackerOf(world, 'grace');
    await tracker.transition(a.ticket, tracker.statuses.inProgress);
    await expectNoExtraRun(a, new RegExp(`${a.ticket} records 1`));
  });
});
