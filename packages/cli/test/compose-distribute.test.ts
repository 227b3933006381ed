import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Postgres } from '@opsbook/testkit/postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { DistributedTeam } from './distributed-team.js';
import { type Site, type World, writeRunbook } from './opsbook-world.js';
import { type JournalLine, type RunDoc, stepEndsOf } from './run-outcome.js';
import { logTidy, maintenance, maintenanceStepsOk, TIDY_SCRIPT } from './runbook-fixtures.js';

/*
 * Issue 20 item 3 on the workers: a composite (`maintenance` composes `log-tidy@^1.2.0`) run by
 * `opsbook run --distribute` and two `opsbook worker`s over real sshd and a real PostgreSQL. The
 * composed runbook's phases run on every host, journaled as step/composed-step; and a worker
 * whose own working copy holds another composed runbook than the senior approved refuses its
 * shard before it touches a host, though the submitter's checkout is the approved one.
 */

let team: DistributedTeam;
let pg: Postgres;
let world: World;

beforeAll(async () => {
  team = await DistributedTeam.start({ maintenance, 'log-tidy': logTidy('1.2.0') });
  ({ pg, world } = team);
});
afterAll(async () => {
  await team?.remove();
});
afterEach(async () => {
  await team?.stopAll();
});

/** An approval (signed by alice) of `maintenance` on every host, leaving its markers in `dir`. */
async function approvedMaintenance(name: string, dir: string): Promise<string> {
  await mkdir(dir);
  return approvedFile(world, 'maintenance', `${name}.json`, [world.people.alice], {
    params: { dir, days: '30' },
    target: 'all',
    env: team.dbEnv,
  });
}

/** The run's journal as the workers and the submitter wrote it to PostgreSQL, in order. */
async function journalOf(database: string, runId: string): Promise<JournalLine[]> {
  const out = await pg.psql(
    `select line from opsbook_journal_lines where run_id = '${runId}' order by seq`,
    database,
  );
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as JournalLine);
}

/** Every marker file the hosts `hosts` left in `dir`. */
async function markersOf(dir: string, hosts: readonly string[]): Promise<string[]> {
  return (await readdir(dir)).filter((m) => hosts.some((h) => m.startsWith(`${h}.`))).sort();
}

describe('a composite run by the workers over real sshd', () => {
  it('runs the composed phases on every host, each on the worker of its zone, journaled as step/composed-step', async () => {
    const database = await team.freshDatabase();
    const dc1 = await team.startWorker('dc1');
    const dc2 = await team.startWorker('dc2');
    const dir = path.join(world.markerDir, 'composed');
    const file = await approvedMaintenance('composed', dir);
    const r = await team.finished(
      team.submit(['run', file, '--distribute', '--shard-size', '1', '--json']),
    );
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as RunDoc;
    expect(doc.hosts.map((h) => [h.host, h.status])).toEqual(world.hostNames.map((h) => [h, 'ok']));
    for (const h of world.hostNames) {
      // The composite's params reached the composed runbook's script through with:.
      expect(await readFile(path.join(dir, `${h}.tidy-keep`), 'utf8')).toBe('30\n');
      expect(await markersOf(dir, [h])).toEqual(
        ['after', 'before', 'label', 'tidy-keep', 'tidy-pre'].map((m) => `${h}.${m}`),
      );
    }
    for (const [worker, mine, theirs] of [
      [dc1, ['h1', 'h2'], ['h3', 'h4']],
      [dc2, ['h3', 'h4'], ['h1', 'h2']],
    ] as const) {
      for (const h of mine) expect(worker.stderr()).toContain(`${h} ok`);
      for (const h of theirs) expect(worker.stderr()).not.toContain(`${h} ok`);
    }

    const journal = await journalOf(database, doc.runId);
    for (const h of world.hostNames) expect(stepEndsOf(journal, h), h).toEqual(maintenanceStepsOk);
    const tidyDigest = (await world.opsbook(['digest', 'log-tidy'])).stdout.trim();
    expect(journal.find((e) => e.type === 'run-start')?.composed).toEqual([
      expect.objectContaining({
        step: 'tidy',
        name: 'log-tidy',
        version: '1.2.0',
        digest: tidyDigest,
      }),
    ]);
    const verify = await world.opsbook(['journal', 'verify', doc.runId], { env: team.dbEnv });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });

  /** What a worker's working copy may hold instead of the approved log-tidy 1.2.0. */
  const tamperings: Array<[string, (site: Site) => Promise<unknown>, string]> = [
    [
      'a script of the composed runbook edited',
      (site) =>
        writeFile(
          path.join(site.runbooksDir, 'log-tidy/scripts/tidy.sh'),
          `${TIDY_SCRIPT}touch "$OPSBOOK_PARAM_DIR/pwned"\n`,
        ),
      'changed since approval',
    ],
    [
      'a higher version of the composed runbook within the range',
      (site) => writeRunbook(site.runbooksDir, 'log-tidy', logTidy('1.3.0')),
      'resolves to log-tidy 1.3.0 now',
    ],
  ];

  it.each(tamperings)(
    'a worker whose checkout has %s refuses its shard (COMPOSED_MISMATCH) before touching a host',
    async (label, tamper, why) => {
      const database = await team.freshDatabase();
      await team.startWorker('dc1');
      // Another dc2 machine, whose working copy differs from the one the senior approved.
      const tampered = await world.createSite(`worker-dc2-${database}`);
      await tamper(tampered);
      const dc2 = await team.startWorker('dc2', { site: tampered });
      const dir = path.join(world.markerDir, `tampered-${database}`);
      const file = await approvedMaintenance(`tampered-${database}`, dir);
      const logins = [world.hosts[2]!, world.hosts[3]!].map((h) => h.countLogins());
      const r = await team.finished(team.submit(['run', file, '--distribute', '--json']));
      expect(dc2.stderr(), label).toMatch(
        /refused: SHARD_REFUSED: shard \S+ of run \S+ refused: the approval does not verify on this worker \(COMPOSED_MISMATCH: /,
      );
      expect(dc2.stderr()).toContain(`step 'tidy'`);
      expect(dc2.stderr()).toContain(why);
      expect(dc2.stderr()).toContain('no host was touched');
      expect(r.stderr).toContain('was refused by its worker');
      expect(r.code).toBe(1);
      const doc = JSON.parse(r.stdout) as RunDoc;
      expect(doc.hosts.map((h) => [h.host, h.status])).toEqual([
        ['h1', 'ok'],
        ['h2', 'ok'],
        ['h3', 'not-started'],
        ['h4', 'not-started'],
      ]);
      // The honest dc1 worker ran its hosts; nothing at all reached h3 or h4.
      expect(await markersOf(dir, ['h1'])).toContain('h1.tidy-keep');
      expect(await markersOf(dir, ['h3', 'h4'])).toEqual([]);
      expect(await readdir(dir)).not.toContain('pwned');
      expect([world.hosts[2]!, world.hosts[3]!].map((h) => h.countLogins())).toEqual(logins);
      // Their only events: not started, and why, recorded by the submitter.
      const journal = await journalOf(database, doc.runId);
      expect(
        journal
          .filter((e) => e.host === 'h3' || e.host === 'h4')
          .map((e) => [e.type, e.host, e.status]),
      ).toEqual([
        ['host-end', 'h3', 'not-started'],
        ['host-end', 'h4', 'not-started'],
      ]);
      for (const e of journal.filter((x) => x.host === 'h3' || x.host === 'h4'))
        expect(e.error).toMatch(/^never started: its worker refused shard .*COMPOSED_MISMATCH/);
    },
  );
});
