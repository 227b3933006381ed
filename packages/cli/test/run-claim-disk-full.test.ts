import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planApproval } from './approval-craft.js';
import {
  createWorld,
  execFileAsync,
  expectOk,
  siteOnTmpfs,
  useJiraTracker,
  type World,
} from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { markerRunbook } from './runbook-fixtures.js';

/*
 * The state dir's disk fills between the run's claim and its journal: with Jira as the tracker
 * the claim on the ticket needs no disk, and the ledger's claim line fits in the ledger file's
 * last page, but the journal and the outbox need new pages, which a full tmpfs refuses. Nothing
 * ran; the message must not let "nothing was run" suggest that the approval is untouched.
 * Mounting needs root, as the test machines run.
 */

let world: World;
let fake: JiraFake;
beforeAll(async () => {
  fake = await startJiraFake({ flavour: 'cloud' });
  world = await createWorld({ hostCount: 1, runbooks: { marker: markerRunbook() } });
  await mkdir(world.stateDir, { recursive: true }); // createSite copies it
});
afterAll(async () => {
  await world?.remove();
  await fake?.close();
});

describe('a disk that fills between the run claim and the journal', () => {
  it('says that nothing ran but that the run keeps its claim of the approval, and what to do', async () => {
    const { site, unmount } = await siteOnTmpfs(world, 'opsbook-claim-full', 2048);
    try {
      await useJiraTracker(world, site);
      const env = fake.env;
      const approve = async (name: string) => {
        const issue = fake.seed({ summary: name, status: 'approved' });
        const dir = path.join(world.markerDir, name);
        await mkdir(dir);
        const file = await planApproval(site, 'marker', `${name}.json`, {
          ticket: issue.key,
          params: { dir },
          target: 'h1',
          env,
        });
        await expectOk(
          site.opsbook(['approve', file, '--key', world.people.alice.keyFile], { env }),
          'approve',
        );
        return { file, dir, key: issue.key };
      };
      // A first run makes the ledger file: its last page has room for the next claim's line.
      const first = await approve('claim-full-first');
      await expectOk(site.opsbook(['run', first.file], { env }), 'the first run');
      const second = await approve('claim-full-second');
      // Full, less one page: the ledger lock's file takes it and gives it back.
      const filler = path.join(site.stateDir, 'filler');
      await execFileAsync('sh', ['-c', `cat /dev/zero > '${filler}' 2>/dev/null; true`]);
      await execFileAsync('truncate', ['-s', '-4096', filler]);

      const r = await site.opsbook(['run', second.file], { env });
      expect(r.stderr).not.toMatch(stackTrace);
      const said =
        /^error \(DISK_FULL\): cannot write the state dir \S+: no space left on the device \(ENOSPC\)\. Nothing was run, but run (\S+) had already claimed one of the approval's runs and keeps it \(without its journal nothing shows that it touched nothing, so it counts: opsbook runs list lists it\); once there is room, run the approval again if runs are left, or ask a senior for a new one\. Free space on that filesystem, or set stateDir in opsbook\.yaml to another place\.$/m.exec(
          r.stderr,
        );
      expect(said, r.stderr).not.toBeNull();
      expect(r.code).toBe(1);
      expect(await readdir(second.dir)).toEqual([]);
      await rm(filler);
      const claimed = said![1]!;
      const list = await site.opsbook(['runs', 'list'], { env });
      expect(list.stdout).toContain(claimed);
      // Its ticket holds the claim; ticket report says why it cannot report the run, and the way out.
      const report = await site.opsbook(
        ['ticket', 'report', second.key, '--approval', second.file],
        {
          env,
        },
      );
      expect(report.stderr).not.toMatch(stackTrace);
      expect(report.stdout).toContain(
        `not reported: run ${claimed}: its journal has no events: its runner stopped before it journaled the run's start (opsbook runs show ${claimed}); a senior can send ${second.key} back with opsbook ticket reject ${second.key}`,
      );
      expect(report.code).toBe(3);
    } finally {
      await unmount();
    }
  });
});
