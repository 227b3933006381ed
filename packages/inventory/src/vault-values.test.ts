import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptVault, VaultError } from './ansible-vault.js';
import { loadInventory } from './inventory-file.js';

const fixtures = fileURLToPath(new URL('./__fixtures__/', import.meta.url));
const passwordFile = `${fixtures}vault-password`;
let dir: string;
/** The `!vault |` block of host_vars/db-01.yml, made by ansible-vault encrypt_string. */
let vaultBlock: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opsbook-vault-values-'));
  const text = await readFile(`${fixtures}inventory-folder/host_vars/db-01.yml`, 'utf8');
  vaultBlock = text.slice(text.indexOf('!vault'), text.indexOf('role:'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('!vault values in a YAML inventory', () => {
  it('decrypts a tagged value with the password and keeps it unread without', async () => {
    const file = join(dir, 'hosts.yaml');
    await writeFile(
      file,
      `all:\n  hosts:\n    web-01:\n      token: ${vaultBlock.replace(/\n {10}/g, '\n        ')}      plain: "$ANSIBLE_VAULT;1.1;AES256 is only text here"\n`,
    );
    const opened = await loadInventory(file, { vaultPasswordFile: passwordFile });
    expect(opened.hosts[0]!.vars.token).toBe('token-of-db-01');
    expect(opened.hosts[0]!.vars.plain).toBe('$ANSIBLE_VAULT;1.1;AES256 is only text here');
    const locked = await loadInventory(file, { env: {} });
    expect(locked.hosts[0]!.vars.plain).toBe('$ANSIBLE_VAULT;1.1;AES256 is only text here');
    expect(() => locked.hosts[0]!.vars.token).toThrow(
      `${file}:4:7: host 'web-01': variable 'token' is Ansible Vault encrypted and no vault password was given`,
    );
  });

  it('refuses an executable password file: ansible would run it, opsbook runs no scripts', async () => {
    const script = join(dir, 'vault-pass.sh');
    await writeFile(script, '#!/bin/sh\necho secret\n', { mode: 0o755 });
    await expect(
      loadInventory(`${fixtures}inventory-folder`, { vaultPasswordFile: script }),
    ).rejects.toThrow('is executable, so ansible would run it as a script');
  });
});

describe('decryptVault', () => {
  it.each([
    ['$ANSIBLE_VAULT;1.0;AES256\n00\n', 'vault format 1.0 is not supported'],
    ['$ANSIBLE_VAULT;1.1;AES\n00\n', 'vault cipher AES is not supported'],
    ['$ANSIBLE_VAULT;1.1;AES256\nzz\n', 'not hexadecimal'],
    ['$ANSIBLE_VAULT;1.1;AES256\n6162\n', 'no salt, HMAC and data'],
  ])('refuses %j without decrypting anything', (text, why) => {
    expect(() => decryptVault(text, Buffer.from('pw'))).toThrow(VaultError);
    expect(() => decryptVault(text, Buffer.from('pw'))).toThrow(why);
  });
});
