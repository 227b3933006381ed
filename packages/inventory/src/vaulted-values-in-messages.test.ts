import { fileURLToPath } from 'node:url';
import { formatProblem, ValidationError } from '@opsbook/schema';
import { beforeAll, describe, expect, it } from 'vitest';
import { connectionOf } from './connection-of.js';
import type { Inventory, InventoryHost } from './inventory.js';
import { loadInventory } from './inventory-file.js';

/*
 * The README promises that a decrypted Ansible Vault value is never shown in an error message.
 * Each fixture value was made by the real `ansible-vault encrypt_string` and holds a marker,
 * VLT_…, that a message must not contain, whatever it refuses the value for.
 */
const fixtures = fileURLToPath(new URL('./__fixtures__/', import.meta.url));
const folder = `${fixtures}vaulted-bad-values/`;
const vaultPasswordFile = `${fixtures}vault-password`;
const marker = 'VLT_';

let inventory: Inventory;
beforeAll(async () => {
  inventory = await loadInventory(`${folder}hosts.yaml`, { vaultPasswordFile });
});

function hostNamed(name: string): InventoryHost {
  const host = inventory.hosts.find((h) => h.name === name);
  if (!host) throw new Error(`no host ${name} in the fixture`);
  return host;
}

function refusalOf(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error('the vaulted value was accepted');
}

/** Everything a refusal carries that the CLI or a journal could show. */
function everythingShown(e: ValidationError): string {
  return [e.message, ...e.problems.map(formatProblem), JSON.stringify(e.problems)].join('\n');
}

describe('a vaulted connection variable opsbook refuses', () => {
  it('decrypts the fixture values (so the refusals below are of the decrypted text)', () => {
    expect(hostNamed('port-host').vars.ansible_port).toBe('VLT_port_secret');
    expect(hostNamed('port-host').varOrigins.ansible_port).toMatchObject({ isVaulted: true });
    expect(hostNamed('group-host').varOrigins.ansible_port).toMatchObject({ isVaulted: true });
  });

  it.each([
    ['port-host', 'ansible_port', 'vaulted-connection-var'],
    ['ssh-port-host', 'ansible_ssh_port', 'vaulted-connection-var'],
    ['become-host', 'ansible_become', 'bad-become'],
    ['timeout-host', 'ansible_timeout', 'vaulted-connection-var'],
    ['connection-host', 'ansible_connection', 'bad-connection'],
    ['become-method-host', 'ansible_become_method', 'unsupported-become-method'],
    ['common-args-host', 'ansible_ssh_common_args', 'vaulted-connection-var'],
    ['extra-args-host', 'ansible_ssh_extra_args', 'vaulted-connection-var'],
    ['ssh-args-host', 'ansible_ssh_args', 'vaulted-connection-var'],
    ['user-host', 'ansible_user', 'vaulted-connection-var'],
    ['group-host', 'ansible_port', 'vaulted-connection-var'],
    // ansible_port: "{{ port_alias }}", port_alias: "{{ port_secret }}", port_secret vaulted.
    ['templated-host', 'ansible_port', 'vaulted-connection-var'],
  ])('%s: names %s and says it is vaulted, never its value', (name, variable, rule) => {
    const e = refusalOf(() => connectionOf(hostNamed(name)));
    expect(e.code).toBe('INVENTORY_INVALID');
    expect(e.problems).toHaveLength(1);
    expect(e.problems[0]).toMatchObject({ file: `${folder}hosts.yaml`, rule });
    expect(e.problems[0]!.message).toContain(`host '${name}': ${variable} `);
    expect(e.problems[0]!.message).toContain('(a vaulted value)');
    expect(everythingShown(e)).not.toContain(marker);
  });

  it('refuses a vaulted template without quoting what it names', () => {
    const e = refusalOf(() => hostNamed('vaulted-template-host').vars.ansible_port);
    expect(e.code).toBe('INVENTORY_INVALID');
    expect(e.problems[0]!.message).toContain(
      "host 'vaulted-template-host': variable 'ansible_port' (a vaulted value) has a template",
    );
    expect(everythingShown(e)).not.toContain(marker);
  });
});

describe('a vaulted value the inventory itself refuses', () => {
  it.each([
    ['group-priority.yaml', 'ansible_group_priority must be an integer, got (a vaulted value)'],
    [
      'group-not-mapping.yaml',
      "group 'web' must be a mapping with hosts, children and vars (or empty), got (a vaulted value)",
    ],
  ])('%s: says it is vaulted, never its value', async (file, message) => {
    const e = await loadInventory(folder + file, { vaultPasswordFile }).then(
      () => {
        throw new Error(`${file} was accepted`);
      },
      (x: unknown) => x as ValidationError,
    );
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.code).toBe('INVENTORY_INVALID');
    expect(e.problems.map((p) => p.message)).toContain(message);
    expect(everythingShown(e)).not.toContain(marker);
  });
});
