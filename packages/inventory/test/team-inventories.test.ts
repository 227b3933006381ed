import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { renderRunTemplate } from '@opsbook/exec';
import { ValidationError } from '@opsbook/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptVault, VaultError } from '../src/ansible-vault.js';
import { type Inventory, loadInventory, selectHosts } from '../src/index.js';

/**
 * Inventories as teams have them (a folder of files, Vault, Jinja in vars, dashed group names,
 * YAML 1.1 booleans, the order of `all`), compared with the real Ansible: `ansible-inventory
 * --list` for groups and members, `ansible -m debug` for each host's variables as Ansible uses
 * them (templated, decrypted), `ansible --list-hosts` for patterns. CI installs ansible; a
 * machine without it fails here.
 */
const run = promisify(execFile);
const fixtures = fileURLToPath(new URL('../src/__fixtures__/', import.meta.url));
const folder = `${fixtures}inventory-folder`;
const passwordFile = `${fixtures}vault-password`;

let cwd: string;
beforeAll(async () => {
  // An empty working folder: ansible also reads group_vars/ beside the current folder.
  cwd = await mkdtemp(join(tmpdir(), 'opsbook-team-inventories-'));
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const ansibleEnv = () => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: cwd,
  ANSIBLE_INVENTORY_ENABLED: 'ini,yaml',
  ANSIBLE_INVENTORY_UNPARSED_FAILED: 'true',
  ANSIBLE_NOCOLOR: '1',
  ANSIBLE_STDOUT_CALLBACK: 'json',
  ANSIBLE_LOAD_CALLBACK_PLUGINS: '1',
});

async function ansible(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await run(`/usr/bin/${cmd}`, args, {
    cwd,
    env: ansibleEnv(),
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

type Listing = Record<string, { hosts?: string[]; children?: string[] }> & {
  _meta: { hostvars: Record<string, Record<string, unknown>> };
};

/** Each host's inventory variables as Ansible uses them (templated, decrypted), and its `groups`. */
async function ansibleView(path: string, extra: string[] = []) {
  const [list, debug] = await Promise.all([
    ansible('ansible-inventory', ['-i', path, '--list', ...extra]),
    ansible('ansible', [
      '-i',
      path,
      'all',
      '-m',
      'debug',
      '-a',
      'var=hostvars[inventory_hostname]',
      ...extra,
    ]),
  ]);
  const listing = JSON.parse(list) as Listing;
  const results = JSON.parse(debug).plays[0].tasks[0].hosts as Record<
    string,
    Record<string, Record<string, unknown>>
  >;
  const vars: Record<string, Record<string, unknown>> = {};
  let groups: Record<string, string[]> = {};
  for (const [host, result] of Object.entries(results)) {
    const all = result['hostvars[inventory_hostname]']!;
    const names = Object.keys(listing._meta.hostvars[host] ?? {});
    vars[host] = Object.fromEntries(names.map((n) => [n, all[n]]));
    groups = all.groups as Record<string, string[]>;
  }
  const { _meta, ...structure } = listing;
  return { structure, vars, groups };
}

function structureOf(inventory: Inventory) {
  const out: Record<string, unknown> = {};
  for (const g of inventory.groups) {
    const entry: { hosts?: string[]; children?: string[] } = {};
    if (g.hosts.length > 0) entry.hosts = g.hosts;
    if (g.children.length > 0) entry.children = g.children;
    if (Object.keys(entry).length > 0) out[g.name] = entry;
  }
  return out;
}

function varsOf(inventory: Inventory) {
  return Object.fromEntries(inventory.hosts.map((h) => [h.name, { ...h.vars }]));
}

async function listHosts(path: string, pattern: string, extra: string[] = []): Promise<string[]> {
  const { stdout } = await run(
    '/usr/bin/ansible',
    ['-i', path, pattern, '--list-hosts', ...extra],
    {
      cwd,
      env: { ...ansibleEnv(), ANSIBLE_STDOUT_CALLBACK: 'default' },
    },
  );
  return stdout
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter(Boolean);
}

describe.concurrent('an inventory folder with Vault, as ansible reads it', () => {
  const withPassword = { env: { ANSIBLE_VAULT_PASSWORD_FILE: passwordFile } };

  it('has the same groups, members and variables (vault file and !vault value decrypted)', async () => {
    const [ours, theirs] = await Promise.all([
      loadInventory(folder, withPassword),
      ansibleView(folder, ['--vault-password-file', passwordFile]),
    ]);
    expect(structureOf(ours)).toEqual(theirs.structure);
    expect(varsOf(ours)).toEqual(theirs.vars);
    // --host shows a host's variables untemplated, vault files opened: db-02 has no template.
    const host = await ansible('ansible-inventory', [
      ...['-i', folder, '--host', 'db-02', '--vault-password-file', passwordFile],
    ]);
    expect(varsOf(ours)['db-02']).toEqual(JSON.parse(host));
    // Files in name order, sub-folders recursively; .ini and .md files skipped as Ansible skips them.
    expect(ours.sources.map((s) => s.slice(folder.length + 1))).toEqual([
      '01-web.yaml',
      '02-db',
      'zz-more/hosts.yml',
    ]);
    for (const [group, hosts] of Object.entries(theirs.groups)) {
      if (hosts.length > 0) expect(selectHosts(ours, group).map((h) => h.name)).toEqual(hosts);
    }
    const db01 = ours.hosts.find((h) => h.name === 'db-01')!;
    expect(db01.varOrigins.api_token).toMatchObject({ line: 1, isVaulted: true });
    expect(db01.varOrigins.db_password).toMatchObject({ isVaulted: true });
  });

  it.each(['all', 'all[0:2]', '*', 'db-servers:web', 'prod:!web-02'])(
    '%s selects the same hosts in the same order as ansible --list-hosts',
    async (pattern) => {
      const [ours, theirs] = await Promise.all([
        loadInventory(folder, withPassword),
        listHosts(folder, pattern, ['--vault-password-file', passwordFile]),
      ]);
      expect(selectHosts(ours, pattern).map((h) => h.name)).toEqual(theirs);
    },
  );

  it('without a password stays usable: vaulted values unread until one is needed', async () => {
    const inventory = await loadInventory(folder, { env: {} });
    const db01 = inventory.hosts.find((h) => h.name === 'db-01')!;
    expect(db01.vars.role).toBe('primary');
    expect(db01.vars.pg_version).toBe(15); // group_vars/db-servers.yml ranks above all/vault.yml
    // Set in group_vars/all/main.yml, but vault.yml beside it is read after it and sets it too:
    // without the password its value is unknown, never silently the plain one.
    expect(() => db01.vars.ntp_server).toThrow(
      `host 'db-01': variable 'ntp_server' (set at ${folder}/group_vars/all/main.yml:1) may be overridden by a vault file: ${folder}/group_vars/all/vault.yml is Ansible Vault encrypted and unread: give the vault password`,
    );
    expect(db01.unreadVaultFiles).toEqual([`${folder}/group_vars/all/vault.yml`]);
    expect(Object.hasOwn(db01.vars, 'opsbook_zone')).toBe(false);
    // A command template naming a variable that may be in the unread vault file.
    const render = () =>
      renderRunTemplate('psql -h {{ host.vars.role }} -W {{ host.vars.db_password }}', {
        params: {},
        host: { name: db01.name, vars: db01.vars },
      });
    expect(render).toThrow(
      `${folder}/group_vars/all/vault.yml:1:1: host 'db-01': variable 'db_password' is not in what opsbook could read, and ${folder}/group_vars/all/vault.yml is Ansible Vault encrypted and unread: give the vault password`,
    );
    let error: unknown;
    try {
      void db01.vars.api_token;
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).code).toBe('VAULT_PASSWORD_NEEDED');
    expect((error as ValidationError).message).toBe(
      `${folder}/host_vars/db-01.yml:1:1: host 'db-01': variable 'api_token' is Ansible Vault encrypted and no vault password was given: give the vault password in a file named by ANSIBLE_VAULT_PASSWORD_FILE (as for ansible)`,
    );
  });

  it('refuses a wrong password naming the file, never showing a value', async () => {
    const wrong = join(cwd, 'wrong-password');
    await writeFile(wrong, 'not-the-password\n');
    const error = await loadInventory(folder, { vaultPasswordFile: wrong }).catch((e) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.code).toBe('INVENTORY_INVALID');
    expect(error.message).toContain(`${folder}/group_vars/all/vault.yml:1:1: cannot decrypt`);
    expect(error.message).toContain(`check the password in the vault password file ${wrong}`);
    expect(error.message).not.toMatch(/hunter2|token-of-db-01/);
  });
});

describe.concurrent('Ansible Vault decryption against the real ansible-vault', () => {
  it.each([
    ['encrypt (format 1.1)', []],
    ['encrypt --vault-id prod@file (format 1.2, labelled)', ['--vault-id']],
  ])('opens what ansible-vault %s wrote with the same password file', async (_, how) => {
    const file = join(cwd, `secret-${how.length}.yml`);
    const plain = `db_password: "pä55 word"\nlist: [1, 2]\n`;
    await writeFile(file, plain);
    const pw =
      how.length > 0
        ? ['--vault-id', `prod@${passwordFile}`]
        : ['--vault-password-file', passwordFile];
    await ansible('ansible-vault', ['encrypt', ...pw, file]);
    const vaulted = await readFile(file, 'utf8');
    expect(vaulted.split('\n')[0]).toBe(
      how.length > 0 ? '$ANSIBLE_VAULT;1.2;AES256;prod' : '$ANSIBLE_VAULT;1.1;AES256',
    );
    const password = Buffer.from('opsbook-fixture-vault-password');
    expect(decryptVault(vaulted, password).toString('utf8')).toBe(plain);
    expect(() => decryptVault(vaulted, Buffer.from('wrong'))).toThrow(VaultError);
  });

  it('opens an encrypt_string value', async () => {
    const out = await ansible('ansible-vault', [
      'encrypt_string',
      '--vault-password-file',
      passwordFile,
      'inline value',
      '--name',
      'x',
    ]);
    const text = out.replace(/^x: !vault \|\n/, '');
    expect(decryptVault(text, Buffer.from('opsbook-fixture-vault-password')).toString()).toBe(
      'inline value',
    );
  });
});

describe.concurrent('Jinja in variables, as ansible evaluates it', () => {
  it('renders inventory_hostname, other variables and default the way ansible does', async () => {
    const path = `${fixtures}jinja-subset/hosts.yaml`;
    const [ours, theirs] = await Promise.all([loadInventory(path), ansibleView(path)]);
    expect(varsOf(ours)).toEqual(theirs.vars);
    expect(ours.hosts[0]!.vars.ansible_host).toBe('web-01.example.com');
  });
});

describe.concurrent('the order of all, and INI/YAML booleans', () => {
  const path = `${fixtures}order-of-all/hosts.ini`;

  it.each(['all', 'all[0:1]', 'all[-1]', '*', 'web:other'])(
    '%s selects what ansible --list-hosts selects, in its order',
    async (pattern) => {
      const [ours, theirs] = await Promise.all([loadInventory(path), listHosts(path, pattern)]);
      expect(selectHosts(ours, pattern).map((h) => h.name)).toEqual(theirs);
    },
  );

  it('reads plain YAML numbers as ansible does (YAML 1.1: 0644 is 420, 08 and 1e3 are text, 1:20 is 80)', async () => {
    const file = `${fixtures}yaml11-scalars/hosts.yaml`;
    const [ours, theirs] = await Promise.all([loadInventory(file), ansibleView(file)]);
    expect(varsOf(ours)).toEqual(theirs.vars);
    // The cases, said: the comparison above would also pass if neither side read the file.
    expect(ours.hosts[0]!.vars).toMatchObject({ mode: 420, leading_zero_eight: '08', base60: 80 });
    expect(ours.hosts[1]!.vars).toMatchObject({ backup_time: 750, umask: 18 });
  });

  it('reads yes/no/True in INI and YAML files as ansible does', async () => {
    const [ours, theirs] = await Promise.all([
      loadInventory(folder, { env: { ANSIBLE_VAULT_PASSWORD_FILE: passwordFile } }),
      ansibleView(path),
    ]);
    const db02 = ours.hosts.find((h) => h.name === 'db-02')!;
    // INI: `backup=yes` stays a string (ast.literal_eval), `replica=True` is a boolean.
    expect([db02.vars.backup, db02.vars.replica]).toEqual(['yes', true]);
    expect(varsOf(await loadInventory(path))).toEqual(theirs.vars);
  });
});
