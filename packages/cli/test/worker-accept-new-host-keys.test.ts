import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { DistributedTeam } from './distributed-team.js';
import type { RunbookFixture } from './opsbook-world.js';
import type { RunDoc } from './run-outcome.js';
import { dirParam, header } from './runbook-fixtures.js';

/*
 * `opsbook worker --accept-new-host-keys` trusts every new host of every shard it takes, on its
 * own machine, where nobody watches. Each key it takes is said on the worker's stderr and
 * recorded in the run's journal (in the team's database) before any step on that host, so the
 * submitter and the senior verifying the run see which host keys were trusted without a check.
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
});
afterAll(async () => {
  await team?.remove();
});

const fingerprintOf = (publicKey: string) =>
  `SHA256:${createHash('sha256')
    .update(Buffer.from(publicKey.split(' ')[1] ?? '', 'base64'))
    .digest('base64')
    .replace(/=+$/, '')}`;

describe('opsbook worker --accept-new-host-keys', () => {
  it("says each host key it takes as new and records it in the run's journal before any step there", async () => {
    const { world } = team;
    const database = await team.freshDatabase();
    const [h1, h2] = world.hosts as [(typeof world.hosts)[0], (typeof world.hosts)[0]];
    // The worker's known_hosts knows h2 but has never seen h1.
    await world.writeKnownHosts([h2.knownHostsLine]);
    const worker = await team.startWorker('dc1', {
      args: ['--zone', 'dc1', '--accept-new-host-keys'],
    });
    const dir = path.join(world.markerDir, 'accept-new-worker');
    await mkdir(dir, { recursive: true });
    const file = await approvedFile(
      world,
      'touch',
      'accept-new-worker.json',
      [world.people.alice],
      {
        params: { dir },
        target: 'h1:h2',
        env: team.dbEnv,
      },
    );
    const r = await team.finished(team.submit(['run', file, '--distribute', '--json']));
    expect(r.code, r.stderr).toBe(0);
    const { runId } = JSON.parse(r.stdout) as RunDoc;
    const said = `[h1] accepted new host key ${fingerprintOf(h1.hostPublicKey)} (ssh-ed25519) of ${h1.host} port ${h1.port}, added to ${world.knownHostsFile}`;
    expect(worker.stderr()).toContain(said);
    expect(worker.stderr()).not.toContain('[h2] accepted new host key');
    expect(await readFile(world.knownHostsFile, 'utf8')).toContain(h1.hostPublicKey);
    // In the journal, between h1's host-start and its first step; none for h2.
    const lines = (
      await team.pg.psql(
        `select line from opsbook_journal_lines where run_id = '${runId}' order by seq`,
        database,
      )
    )
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const accepted = lines.filter((e) => e.type === 'host-key-accepted');
    expect(accepted).toEqual([
      expect.objectContaining({
        host: 'h1',
        address: h1.host,
        port: h1.port,
        keyType: 'ssh-ed25519',
        fingerprint: fingerprintOf(h1.hostPublicKey),
        knownHostsFile: world.knownHostsFile,
      }),
    ]);
    const ofH1 = lines.filter((e) => e.host === 'h1').map((e) => e.type);
    expect(ofH1.slice(0, 4)).toEqual([
      'host-start',
      'host-key-accepted',
      'host-route',
      'step-start',
    ]);
    const verify = await world.opsbook(['journal', 'verify', runId], { env: team.dbEnv });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });
});
