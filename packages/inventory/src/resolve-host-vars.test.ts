import { ValidationError } from '@opsbook/schema';
import { describe, expect, it } from 'vitest';
import { connectionOf } from './connection-of.js';
import { parseInventoryText } from './inventory-file.js';

const inventory = (vars: string) =>
  parseInventoryText('hosts.yaml', `all:\n  hosts:\n    web-01:\n${vars}`, 'yaml');

function readError(read: () => unknown): ValidationError {
  try {
    read();
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error('the variable was read');
}

describe('Jinja in inventory variables', () => {
  it('renders the subset: variables, inventory_hostname(_short), default, literals', () => {
    const host = inventory(
      [
        '      ansible_host: "{{ inventory_hostname_short }}.{{ zone }}"',
        '      zone: dc1.example.com',
        '      jump: "{{ bastion | default(\'jump.\' ~ zone) }}"',
        '      port: "{{ custom_port | d(2222) }}"',
        "      groups_text: '{{ group_names }}'",
        '',
      ].join('\n'),
    ).hosts[0]!;
    expect(host.vars.ansible_host).toBe('web-01.dc1.example.com');
    expect(host.vars.port).toBe('2222');
    // A result that reads as a Python list becomes one, as in Ansible.
    expect(host.vars.groups_text).toEqual(['ungrouped']);
    expect(connectionOf(host).address).toBe('web-01.dc1.example.com');
    // '~' (concatenation) is beyond the subset: refused when read, naming variable and file.
    expect(readError(() => host.vars.jump).message).toBe(
      "hosts.yaml:6:7: host 'web-01': variable 'jump' has a template opsbook cannot evaluate: '{{ bastion | default('jump.' ~ zone) }}' is beyond the Jinja opsbook reads (a variable, a literal, | default(...)); write the value out",
    );
  });

  it.each([
    ['"{{ name | upper }}"', 'is beyond the Jinja opsbook reads'],
    ["\"{{ lookup('env', 'HOME') }}\"", 'is beyond the Jinja opsbook reads'],
    ['"{% if x %}a{% endif %}"', 'Jinja blocks'],
    ['"{{ missing }}.example.com"', "names 'missing', which is not defined for this host"],
    ['"{{ ansible_host }}"', 'refers to itself'],
  ])('refuses %s when the variable is read, and only then', (template, why) => {
    const inv = inventory(`      ansible_host: ${template}\n      name: web\n`);
    const host = inv.hosts[0]!;
    expect(host.vars.name).toBe('web');
    const e = readError(() => connectionOf(host));
    expect(e.code).toBe('INVENTORY_INVALID');
    expect(e.problems[0]).toMatchObject({ file: 'hosts.yaml', line: 4, col: 7 });
    expect(e.message).toContain(`host 'web-01': variable 'ansible_host' `);
    expect(e.message).toContain(why);
  });
});
