import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { planApproval } from './approval-craft.js';
import { DistributedTeam } from './distributed-team.js';
import { execFileAsync } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import type { RunDoc } from './run-outcome.js';
import { markerRunbook } from './runbook-fixtures.js';

/*
 * Ansible Vault encrypted host vars on the workers: `opsbook run --distribute` with two
 * `opsbook worker`s over real sshd and a real PostgreSQL. Each worker re-derives the plan from its
 * own working copy with the vault password, gives each host's command its own vaulted value in the
 * environment, and masks it in the journal it writes to the team's database.
 */

let team: DistributedTeam;
beforeAll(async () => {
  team = await DistributedTeam.start({ marker: markerRunbook() });
});
afterAll(async () => {
  await team?.remove();
});
afterEach(async () => {
  await team?.stopAll();
});

/** `color: !vault |…` for each host, made by the real ansible-vault, in every working copy. */
async function writeVaultedColors(passwordFile: string, colors: Record<string, string>) {
  const dirs = [team.world.dir, team.sites.dc1.dir, team.sites.dc2.dir];
  for (const [host, color] of Object.entries(colors)) {
    const { stdout } = await execFileAsync('ansible-vault', [
      'encrypt_string',
      '--vault-password-file',
      passwordFile,
      color,
      '--name',
      'color',
    ]);
    for (const dir of dirs) {
      await mkdir(path.join(dir, 'host_vars'), { recursive: true });
      await writeFile(path.join(dir, 'host_vars', `${host}.yml`), `${stdout.trimEnd()}\n`);
    }
  }
}

describe('vaulted host vars in a distributed run', () => {
  it('reach each host from the worker of its zone, and the team journal holds none of them', async () => {
    const { world } = team;
    const database = await team.freshDatabase();
    const passwordFile = path.join(world.dir, 'vault.pw');
    await writeFile(passwordFile, `vault-${randomBytes(12).toString('hex')}\n`);
    const colors = Object.fromEntries(
      world.hostNames.map((h) => [h, `${h}-${randomBytes(18).toString('base64url')}`]),
    );
    await writeVaultedColors(passwordFile, colors);
    const vault = { ANSIBLE_VAULT_PASSWORD_FILE: passwordFile };
    const env = { ...team.dbEnv, ...vault };
    await team.startWorker('dc1', { env: vault });
    await team.startWorker('dc2', { env: vault });
    const dir = path.join(world.markerDir, 'vault-distribute');
    await mkdir(dir);
    const file = await planApproval(world, 'marker', 'vault-distribute.json', {
      params: { dir },
      target: 'all',
      env,
    });
    const approved = await world.opsbook(['approve', file, '--key', world.people.alice.keyFile], {
      env,
    });
    expect(approved.code, approved.stderr).toBe(0);
    const r = await team.finished(
      world.spawnOpsbook(['run', file, '--distribute', '--shard-size', '1', '--json'], { env }),
    );
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as RunDoc;
    expect(doc.hosts.map((h) => [h.host, h.status])).toEqual(world.hostNames.map((h) => [h, 'ok']));
    for (const h of world.hostNames)
      expect(await readFile(path.join(dir, `${h}.ran`), 'utf8'), h).toBe(`${colors[h]}\n`);
    const journal = await team.pg.psql(
      `select line from opsbook_journal_lines where run_id = '${doc.runId}' order by seq`,
      database,
    );
    const shown = await world.opsbook(['runs', 'show', doc.runId, '--output'], { env });
    expect(shown.code, shown.stderr).toBe(0);
    for (const text of [journal, shown.stdout, r.stdout, r.stderr, await readFile(file, 'utf8')])
      for (const color of Object.values(colors)) expect(text).not.toContain(color.slice(-16));
  });
});
