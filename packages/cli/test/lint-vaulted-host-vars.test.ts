import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stackTrace } from './run-cli.js';

/*
 * opsbook lint learns from the configured inventory which host vars are Ansible Vault
 * encrypted (a value made by the real ansible-vault encrypt_string), so that one with an
 * ordinary name (db_pw_2) is a credential to secret-in-command too, with no vault password.
 */

let temp: { dir: string; remove: () => Promise<void> };
let site: string;

const runbook = `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: db-check
  title: Check the database
  description: Runs a query.
  category: incident
  grade: P3
  owners: [ops]
spec:
  steps:
    - id: query
      name: Query
      run: mysql -u app -p{{ host.vars.db_pw_2 }} -e 'select 1'
    - id: other
      name: Other database
      run: curl -fsS -u ops:{{ host.vars.db_other }} https://x.example
`;

beforeAll(async () => {
  temp = await makeTempDir('opsbook-lint-vault-');
  site = temp.dir;
  const passwordFile = path.join(site, 'vault-password');
  await writeFile(passwordFile, 'correct horse battery staple\n', { mode: 0o600 });
  // The real ansible-vault: a test that cannot run it fails.
  const { stdout } = await promisify(execFile)('ansible-vault', [
    'encrypt_string',
    '--vault-password-file',
    passwordFile,
    '--name',
    'db_pw_2',
    'hunter2-db',
  ]);
  const vaulted = stdout
    .trimEnd()
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n');
  await mkdir(path.join(site, 'inventory'), { recursive: true });
  await writeFile(
    path.join(site, 'inventory', 'hosts.yaml'),
    `all:\n  hosts:\n    db-01:\n      ansible_host: 127.0.0.1\n${vaulted}\n`,
  );
  await writeFile(
    path.join(site, 'opsbook.yaml'),
    'apiVersion: opsbook/v1\nkind: Config\ninventory: inventory/hosts.yaml\n',
  );
  const dir = path.join(site, 'runbooks', 'db-check');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'runbook.yaml'), runbook);
  await writeFile(
    path.join(dir, 'package.json'),
    '{"name": "@runbooks/db-check", "version": "1.0.0", "private": true}\n',
  );
});

afterAll(() => temp?.remove());

describe('opsbook lint with an inventory that vaults a host var', () => {
  it('fails the vaulted var in a program argument, though its name is an ordinary one', async () => {
    const r = await runCli(['lint'], { cwd: site });
    expect(r.stdout).not.toMatch(stackTrace);
    expect(r.code).toBe(1);
    const line = runbook.split('\n').findIndex((l) => l.includes('db_pw_2')) + 1;
    const col = runbook.split('\n')[line - 1]!.indexOf('{{') + 1;
    expect(r.stdout).toContain(
      `${path.join('runbooks', 'db-check', 'runbook.yaml')}:${line}:${col}: error secret-in-command: host var 'db_pw_2' is Ansible Vault encrypted in the inventory`,
    );
    expect(r.stdout).not.toContain('hunter2-db');
  });

  it('says it could not read the inventory, and still lints by the names', async () => {
    const broken = path.join(site, 'broken.yaml');
    await writeFile(broken, 'all: [this is not an inventory\n');
    await writeFile(
      path.join(site, 'opsbook.yaml'),
      'apiVersion: opsbook/v1\nkind: Config\ninventory: broken.yaml\n',
    );
    try {
      const r = await runCli(['lint'], { cwd: site });
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/the inventory .*broken\.yaml was not read .*by their names only/);
      expect(r.stderr).not.toMatch(stackTrace);
    } finally {
      await writeFile(
        path.join(site, 'opsbook.yaml'),
        'apiVersion: opsbook/v1\nkind: Config\ninventory: inventory/hosts.yaml\n',
      );
    }
  });

  it('knows the vars of a vault-encrypted file with the vault password, and says which files it could not open without', async () => {
    const group = path.join(site, 'inventory', 'group_vars', 'all');
    await mkdir(group, { recursive: true });
    const file = path.join(group, 'vault.yml');
    await writeFile(file, 'db_other: hunter3-db\n');
    await promisify(execFile)('ansible-vault', [
      'encrypt',
      '--vault-password-file',
      path.join(site, 'vault-password'),
      file,
    ]);
    const r = await runCli(['lint'], { cwd: site });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /1 vault-encrypted vars file\(s\) of the inventory were not opened \(no vault password; .*vault\.yml\).*ANSIBLE_VAULT_PASSWORD_FILE/,
    );
    expect(r.stdout).not.toContain("host var 'db_other'");
    const opened = await runCli(['lint'], {
      cwd: site,
      env: { ...process.env, ANSIBLE_VAULT_PASSWORD_FILE: path.join(site, 'vault-password') },
    });
    expect(opened.code).toBe(1);
    expect(opened.stderr).toBe('');
    expect(opened.stdout).toMatch(
      /host var 'db_other' is Ansible Vault encrypted in the inventory/,
    );
    expect(opened.stdout).not.toContain('hunter3-db');
  });
});
