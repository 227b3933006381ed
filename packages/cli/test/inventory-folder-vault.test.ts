import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planApproval } from './approval-craft.js';
import { createTicket, createWorld, expectOk, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { runApproval } from './run-outcome.js';
import { markerRunbook } from './runbook-fixtures.js';

/*
 * Issue 17, through the built binary and real sshd hosts: an inventory folder (several files,
 * group_vars/ with an ansible-vault encrypted file, host_vars/, a dashed group name), opened
 * with ANSIBLE_VAULT_PASSWORD_FILE, and h1 reached through h2 with -o ProxyJump in
 * ansible_ssh_common_args. The vault file is made by the real ansible-vault.
 */
const sh = promisify(execFile);
let world: World;
let folder: string;
let passwordFile: string;

beforeAll(async () => {
  world = await createWorld({ hostCount: 2, runbooks: { marker: markerRunbook() } });
  folder = path.join(world.dir, 'inventory');
  passwordFile = path.join(world.dir, 'vault-password');
  const [h1, h2] = world.hosts as [World['hosts'][0], World['hosts'][0]];
  await mkdir(path.join(folder, 'group_vars', 'web-servers'), { recursive: true });
  await mkdir(path.join(folder, 'host_vars'), { recursive: true });
  await writeFile(path.join(folder, '10-web'), '[web-servers]\nh1\n');
  await writeFile(path.join(folder, '20-db.yml'), 'db:\n  hosts:\n    h2:\n');
  await writeFile(
    path.join(folder, 'group_vars', 'all.yml'),
    // A vault file of a group ranks above group_vars/all: without the password, color is unknown.
    'color: plain\n',
  );
  for (const [name, h] of [
    ['h1', h1],
    ['h2', h2],
  ] as const) {
    await writeFile(
      path.join(folder, 'host_vars', `${name}.yml`),
      `address: ${h.host}\nansible_host: "{{ address }}"\nansible_user: root\nansible_port: ${h.port}\nansible_ssh_private_key_file: ${JSON.stringify(h.clientKeyPath)}\n`,
    );
  }
  // h1 only through h2, as in a segmented network.
  await writeFile(
    path.join(folder, 'host_vars', 'h1.yml'),
    `ansible_ssh_common_args: '-o ProxyJump=jumphost'\n`,
    { flag: 'a' },
  );
  await mkdir(path.join(world.env.HOME!, '.ssh'), { recursive: true });
  await writeFile(
    path.join(world.env.HOME!, '.ssh', 'config'),
    `Host jumphost\n  HostName ${h2.host}\n  Port ${h2.port}\n  User root\n  IdentityFile ${h2.clientKeyPath}\n`,
  );
  await writeFile(passwordFile, 'cli-test-vault-password\n');
  const vault = path.join(folder, 'group_vars', 'web-servers', 'vault.yml');
  await writeFile(vault, 'color: vaulted-green\n');
  await sh('/usr/bin/ansible-vault', ['encrypt', '--vault-password-file', passwordFile, vault], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: world.dir },
  });
  expect((await readFile(vault, 'utf8')).startsWith('$ANSIBLE_VAULT;1.1;AES256\n')).toBe(true);
});
afterAll(async () => {
  await world?.remove();
});

describe('opsbook with an inventory folder holding Ansible Vault files', () => {
  it('without the password, plan refuses the host whose step needs a vaulted variable, naming it', async () => {
    const r = await world.opsbook([
      'plan',
      'marker',
      '--ticket',
      await createTicket(world),
      '--param',
      `dir=${world.markerDir}`,
      '--target',
      'web-servers',
      '-i',
      folder,
      '-o',
      path.join(world.dir, 'no-password.json'),
    ]);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `host 'h1': variable 'color' (set at ${folder}/group_vars/all.yml:1) may be overridden by a vault file: ${folder}/group_vars/web-servers/vault.yml is Ansible Vault encrypted and unread: give the vault password in a file named by ANSIBLE_VAULT_PASSWORD_FILE`,
    );
    expect(r.stderr).not.toContain('vaulted-green');
  });

  it('with ANSIBLE_VAULT_PASSWORD_FILE, plans, approves and runs: the vaulted value, h1 through the jump host', async () => {
    const env = { ANSIBLE_VAULT_PASSWORD_FILE: passwordFile };
    const dir = path.join(world.markerDir, 'folder-vault');
    await mkdir(dir, { recursive: true });
    const file = await planApproval(world, 'marker', 'folder-vault.json', {
      params: { dir },
      target: 'all',
      extra: ['-i', folder],
      env,
    });
    const shown = await world.opsbook(['plan', '--show', file, '-i', folder], { env });
    expect(shown.code, shown.stderr).toBe(0);
    // h1's color comes from the vault file: the plan names the variable that carries it, not it.
    expect(shown.stdout).not.toContain('vaulted-green');
    expect(shown.stdout).toContain(`printf '%s\\n' "$OPSBOOK_VAULT_color"`);
    expect(shown.stdout).toContain(`printf '%s\\n' 'plain'`);
    await expectOk(
      world.opsbook(['approve', file, '-i', folder, '--key', world.people.alice.keyFile], { env }),
      'approve',
    );
    const [h1, h2] = world.hosts as [World['hosts'][0], World['hosts'][0]];
    const before = [h1.countLogins(), h2.countLogins()];
    const r = await runApproval(world, file, ['-i', folder], env);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr).toBe(0);
    // all: the hosts of groups in the order Ansible lists them.
    expect(r.doc?.hosts.map((h) => [h.host, h.status])).toEqual([
      ['h1', 'ok'],
      ['h2', 'ok'],
    ]);
    expect(await readFile(path.join(dir, 'h1.ran'), 'utf8')).toBe('vaulted-green\n');
    expect(await readFile(path.join(dir, 'h2.ran'), 'utf8')).toBe('plain\n');
    // h1's connection went through h2 (one login on h2 as the jump, one as a host).
    expect([h1.countLogins() - before[0]!, h2.countLogins() - before[1]!]).toEqual([1, 2]);
  });
});
