import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { DistributedTeam } from './distributed-team.js';
import { exists, type RunbookFixture } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { dirParam, header } from './runbook-fixtures.js';

/*
 * What a worker says of its own machine, as `run` and `schedule run` say it of theirs: the route
 * its ~/.ssh/config chose for a host where the approved plan holds none (port, user), which `run`
 * prints and the journal records, and a clock minutes away from the database's. A worker runs
 * unwatched on a service machine: its stderr (the service's log) is where an operator looks.
 */

const touchRunbook: RunbookFixture = {
  yaml: `${header('touch', 'change', 'P3', { title: 'Touch a marker on each host' })}spec:
  params:
${dirParam}  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: touch
      name: Touch the marker
      run: touch {{ params.dir }}/{{ host.name }}.ran
`,
};

let team: DistributedTeam;
beforeAll(async () => {
  team = await DistributedTeam.start({ touch: touchRunbook });
}, 240_000);
afterAll(async () => {
  await team?.remove();
});

describe('opsbook worker says what its machine chose or got wrong', () => {
  it('says the route ~/.ssh/config chose for a host (port, user not in the approved plan), as run does', async () => {
    const { world } = team;
    const h1 = world.hosts[0]!;
    // db-user: h1's address, with neither port nor user in the inventory; zone dc1.
    const inventory = {
      vars: { h1: { opsbook_zone: 'dc1' }, h2: { opsbook_zone: 'dc1' } },
      extraHosts: {
        'db-user': {
          ansible_host: h1.host,
          ansible_ssh_private_key_file: h1.clientKeyPath,
          opsbook_zone: 'dc1',
        },
      },
    };
    await world.writeInventory(inventory);
    await world.writeInventory(inventory, team.sites.dc1.inventoryFile);
    // The worker machine's own ~/.ssh/config gives that address its port and user.
    const sshDir = path.join(world.env.HOME!, '.ssh');
    await mkdir(sshDir, { recursive: true });
    await writeFile(
      path.join(sshDir, 'config'),
      `Host ${h1.host}\n  Port ${h1.port}\n  User root\n`,
    );
    await team.freshDatabase();
    const worker = await team.startWorker('dc1');
    const dir = path.join(world.markerDir, 'route');
    await mkdir(dir, { recursive: true });
    const file = await approvedFile(world, 'touch', 'route.json', [world.people.alice], {
      params: { dir },
      target: 'db-user,h2',
      env: team.dbEnv,
    });
    const r = await team.finished(team.submit(['run', file, '--distribute']));
    expect(r.code, r.stderr).toBe(0);
    expect(await exists(path.join(dir, 'db-user.ran'))).toBe(true);
    const said = worker.stderr();
    expect(said).not.toMatch(stackTrace);
    expect(said).toMatch(
      new RegExp(
        `^job \\S+: \\[db-user\\] reached as root@${h1.host.replaceAll('.', '\\.')} port ${h1.port}: port, user from ~/\\.ssh/config, not in the approved plan$`,
        'm',
      ),
    );
    // h2's port and user are the inventory's: nothing to say.
    expect(said).not.toContain('[h2] reached as');
  }, 180_000);

  it("warns at start when this machine's clock is minutes away from the database's, saying what it affects and what to do", async () => {
    const database = await team.freshDatabase();
    // This machine's clock cannot be moved under a test (others share it): the database's is, for
    // its new sessions (a clock_timestamp() searched before pg_catalog's), 3 minutes ahead.
    await team.pg.psql(
      `create schema skew;
      create function skew.clock_timestamp() returns timestamptz language sql
        as $$ select pg_catalog.clock_timestamp() + interval '3 minutes' $$;
      alter database ${database} set search_path = skew, pg_catalog, public`,
      database,
    );
    const worker = await team.startWorker('dc2');
    worker.child.kill('SIGTERM');
    const r = await worker.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.stderr).toMatch(
      /^warning: this machine's clock is 1[78]\d s behind the database's \(PostgreSQL clock_timestamp\(\)\): .*validity window.*; synchronise both with NTP/m,
    );
  }, 120_000);

  it('says nothing of the clocks while they agree', async () => {
    await team.freshDatabase();
    const worker = await team.startWorker('dc2');
    worker.child.kill('SIGTERM');
    const r = await worker.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/clock/);
  }, 120_000);
});
