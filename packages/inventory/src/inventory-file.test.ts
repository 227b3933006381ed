import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Problem, ValidationError } from '@opsbook/schema';
import { describe, expect, it } from 'vitest';
import type { Inventory } from './inventory.js';
import { detectInventoryFormat, loadInventory, parseInventoryText } from './inventory-file.js';

const fixtures = fileURLToPath(new URL('./__fixtures__/', import.meta.url));

/** What must not depend on the file format: hosts in order, their vars and groups, group shape. */
function meaning(inv: Inventory) {
  return {
    hosts: inv.hosts.map((h) => ({ name: h.name, vars: h.vars, groups: h.groups })),
    groups: [...inv.groups]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((g) => ({ ...g, children: [...g.children].sort() })),
  };
}

async function refusal(file: string): Promise<ValidationError> {
  try {
    await loadInventory(fixtures + file);
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error(`${file} was accepted`);
}

describe('the Ansible documentation example inventories', () => {
  it('mean the same in YAML and INI form', async () => {
    const ini = await loadInventory(`${fixtures}ansible-docs-example/hosts.ini`);
    const yaml = await loadInventory(`${fixtures}ansible-docs-example/hosts.yaml`);
    expect(meaning(yaml)).toEqual(meaning(ini));
    expect(ini.hosts).toHaveLength(3 + 2 + 50 + 3 + 6 + 3 + 3);
  });

  it('resolves group, parent-group and host variables', async () => {
    const inv = await loadInventory(`${fixtures}ansible-docs-example/hosts.ini`);
    const host = (n: string) => inv.hosts.find((h) => h.name === n)!;
    expect(host('host2').vars).toEqual({
      ntp_server: 'ntp.atlanta.example.com',
      proxy: 'proxy.atlanta.example.com',
      some_server: 'foo.southeast.example.com',
      halon_system_timeout: 30,
      self_destruct_countdown: 60,
      escape_pods: 2,
      http_port: 303,
      maxRequestsPerChild: 909,
    });
    expect(host('host2').groups).toEqual(['atlanta', 'raleigh', 'southeast', 'usa']);
    expect(host('badwolf.example.com').vars.ansible_port).toBe(5309);
    expect(host('mail.example.com').groups).toEqual(['ungrouped']);
    expect(inv.groups.find((g) => g.name === 'usa')!.depth).toBe(1);
    expect(inv.groups.find((g) => g.name === 'atlanta')!.depth).toBe(3);
  });
});

describe('variable precedence', () => {
  it.each(['hosts.yaml', 'hosts.ini'])(
    'follows Ansible: all < parent < child, same depth by name, group_vars/ above the file, host last (%s)',
    async (file) => {
      const inv = await loadInventory(`${fixtures}precedence/${file}`);
      const [web01, web02] = inv.hosts;
      expect(web01!.vars).toEqual({
        inline_level: 'host-file',
        only_all: 'from-all',
        file_level: 'web-file',
        ntp: 'ntp.example.com',
        app_setting: 'override',
      });
      // web (depth 2) beats app, zeta (depth 1); api and web share depth 2 and web sorts last.
      expect(web02!.vars.inline_level).toBe('web-inline');
      // alpha and zeta share depth 1; ansible_group_priority 10 puts alpha last although 'a' < 'z'.
      expect(web02!.vars.tier).toBe('alpha-priority');
      expect(web02!.vars).not.toHaveProperty('ansible_group_priority');
      expect(web02!.groups).toEqual(['alpha', 'api', 'app', 'web', 'zeta']);
      expect(web01!.varOrigins.inline_level).toEqual({
        file: `${fixtures}precedence/host_vars/web-01.yml`,
        line: 1,
        col: 1,
      });
      expect(web01!.varOrigins.app_setting!.file).toBe(
        `${fixtures}precedence/group_vars/app/20-override.yaml`,
      );
    },
  );
});

describe('host ranges', () => {
  it.each(['hosts.ini', 'hosts.yaml'])(
    'expands numeric, padded, stepped, alphabetic and repeated ranges (%s)',
    async (file) => {
      const inv = await loadInventory(`${fixtures}ranges/${file}`);
      expect(inv.hosts.map((h) => h.name)).toEqual([
        'web01.example.com',
        'web02.example.com',
        'web03.example.com',
        'web04.example.com',
        'web05.example.com',
        'db-a',
        'db-b',
        'db-c',
        'node1',
        'node3',
        'node5',
        'node7',
        'node9',
        'app001',
        'app002',
        'app003',
        'rack1-nodea',
        'rack1-nodeb',
        'rack2-nodea',
        'rack2-nodeb',
      ]);
      expect(inv.hosts.find((h) => h.name === 'app002')!.vars).toEqual({ ansible_port: 2222 });
    },
  );
});

describe('INI values', () => {
  it("reads values with Ansible's shell-split and Python-literal rules", async () => {
    const inv = await loadInventory(`${fixtures}ini-quoting/hosts.ini`);
    const [q1, q2, q3] = inv.hosts;
    const groupVars = {
      raw: 'v # not a comment in a vars section',
      quoted: 'a # b',
      lit: [1, 2],
      tuple: [1, 2],
      str_esc: 'tab\there',
      concat: 'concat',
    };
    expect(q1!.vars).toEqual({
      ...groupVars,
      quoted_int: 1,
      single: 'two words',
      list: ['a', 'b'],
      dict: { k: 1, b: true },
      bool: true,
      none: null,
    });
    expect(q2!.vars).toEqual({
      ...groupVars,
      float: 1.5,
      hex: 31,
      neg: -3,
      path: '/var/log',
      escaped: 'a b',
      text: 'hello',
    });
    expect(q3!.vars).toEqual({
      ...groupVars,
      spaced: 'value with spaces',
      empty: '',
      under: 1000,
      ip: '10.0.0.1',
      version: 1.1,
      nested: { a: [1, [2, 3]] },
    });
  });

  it('keeps variables named __proto__ and constructor as variables, in host and group vars', () => {
    const inv = parseInventoryText(
      'hosts.ini',
      '[web]\nweb-01 __proto__=host constructor=1\n[web:vars]\n__proto__=group\nx=2\n',
      'ini',
    );
    const { vars } = inv.hosts[0]!;
    expect(Object.getPrototypeOf(vars)).toBe(Object.prototype);
    expect(Object.keys(vars)).toEqual(['__proto__', 'x', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(vars, '__proto__')?.value).toBe('host');
    expect(vars.constructor).toBe(1);
    expect(vars.x).toBe(2);
    expect(
      Object.getOwnPropertyDescriptor(inv.hosts[0]!.varOrigins, '__proto__')?.value,
    ).toMatchObject({ line: 2 });
  });
});

describe('malformed inventories', () => {
  it.each([
    [
      'bad-ini-line.ini',
      3,
      1,
      'ini-bad-host-var',
      `expected key=value after the host name, got 'ansible_user': quote values that contain spaces, e.g. key="two words"`,
    ],
    [
      'bad-range.ini',
      2,
      1,
      'bad-host-range',
      "host range 'web[05:01].example.com': begin '05' is greater than end '01'",
    ],
    [
      'bad-range.yaml',
      3,
      5,
      'bad-host-range',
      "host range 'web[01:1x]': bounds must both be numbers or both be single letters",
    ],
    [
      'unknown-section-type.ini',
      4,
      1,
      'ini-unknown-section-type',
      "section [web:host] has unknown type 'host': use [web], [web:vars] or [web:children]",
    ],
    [
      'invalid-section.ini',
      1,
      1,
      'ini-bad-section',
      "invalid section '[web servers]': write [group], [group:vars] or [group:children], without spaces",
    ],
    [
      'unclosed-section.ini',
      1,
      1,
      'ini-bad-section',
      "section '[prod' is not closed: write [prod]",
    ],
    [
      'duplicate-key.yaml',
      3,
      12,
      'yaml-duplicate-key',
      'duplicate key: each key may appear once in a mapping; remove or rename one of them',
    ],
    [
      'non-mapping-group.yaml',
      4,
      7,
      'yaml-bad-group',
      "group 'web' must be a mapping with hosts, children and vars (or empty), got a list",
    ],
    [
      'hosts-as-list.yaml',
      2,
      10,
      'yaml-bad-section',
      "'hosts' of group 'web' must be a mapping, got a list: write each host as a key, e.g. hosts: {web-01: {}}",
    ],
    [
      'unknown-key.yaml',
      2,
      3,
      'yaml-unknown-key',
      "unknown key 'host' in group 'web': only hosts, children and vars are allowed (did you mean 'hosts'?)",
    ],
    [
      'undefined-child.ini',
      3,
      1,
      'ini-undefined-group',
      "section [prod:children] names group 'db', which is never declared: add a [db] section, or fix the name",
    ],
    [
      'vars-for-undefined-group.ini',
      1,
      1,
      'ini-undefined-group',
      'section [db:vars] is for a group that is never declared: add a [db] or [db:children] section, or fix the name',
    ],
    [
      'unclosed-quote.ini',
      2,
      1,
      'ini-bad-host-line',
      `cannot read host line 'web-01 motd="unclosed': No closing quotation; close the quote or escape it`,
    ],
    [
      'group-loop.ini',
      5,
      1,
      'group-loop',
      "group 'a' cannot be a child of 'b': 'b' is already inside 'a', which would make a loop; remove one of the two memberships",
    ],
  ])('%s is refused at line %i:%i', async (file, line, col, rule, message) => {
    const e = await refusal(`malformed/${file}`);
    expect(e.code).toBe('INVENTORY_INVALID');
    expect(e.kind).toBe('invalid');
    expect(e.problems).toEqual([
      { file: `${fixtures}malformed/${file}`, line, col, rule, message },
    ]);
  });

  it('refuses YAML anchors and aliases', async () => {
    const e = await refusal('malformed/yaml-alias.yaml');
    expect(e.problems.map((p) => [p.line, p.col, p.rule])).toEqual([
      [3, 14, 'yaml-anchor'],
      [4, 12, 'yaml-alias'],
    ]);
  });

  it('reports every malformed INI line, not only the first', async () => {
    const e = await refusal('malformed/many-problems.ini');
    expect(e.problems.map((p) => [p.line, p.rule])).toEqual([
      [2, 'ini-bad-host-var'],
      [3, 'bad-host-range'],
      [6, 'ini-bad-var-line'],
      [9, 'ini-bad-child-line'],
    ]);
  });

  it('keeps INI group names with dashes as written, as Ansible does (it only warns)', () => {
    const inv = parseInventoryText('h.ini', '[web-servers]\nweb-01\n', 'ini');
    expect(inv.hosts[0]!.groups).toEqual(['web-servers']);
  });

  it('refuses a missing file and a folder without inventory files with exit-2 errors', async () => {
    expect((await refusal('does-not-exist.ini')).problems[0]!.rule).toBe('inventory-unreadable');
    // Only what Ansible skips in a folder: a README and a .ini file.
    const empty = await mkdtemp(join(tmpdir(), 'opsbook-empty-inventory-'));
    await writeFile(join(empty, 'README.md'), '# hosts\n');
    await writeFile(join(empty, 'old.ini'), '[web]\nweb-01\n');
    try {
      const e = await loadInventory(empty).catch((x) => x);
      expect(e).toBeInstanceOf(ValidationError);
      expect(e.problems[0].rule).toBe('inventory-folder-empty');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('skips in a folder what Ansible skips, and says how to keep a file that is no inventory', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'opsbook-inventory-folder-'));
    try {
      await writeFile(join(folder, 'hosts.yaml'), 'all:\n  hosts:\n    web-01:\n');
      // Hidden files and folders, and Ansible's INVENTORY_IGNORE_EXTS: none of them is read.
      await mkdir(join(folder, '.git'));
      await writeFile(join(folder, '.git', 'config'), '[core]\nbare = false\n');
      for (const name of ['README.md', 'notes.txt', 'hosts.yaml.bak', 'hosts.yaml~', 'old.orig'])
        await writeFile(join(folder, name), 'not: [an inventory\n');
      const read = await loadInventory(folder);
      expect(read.sources).toEqual([join(folder, 'hosts.yaml')]);
      expect(read.hosts.map((h) => h.name)).toEqual(['web-01']);

      // A README without an ending is read, as Ansible reads it; refused with the way out.
      await writeFile(join(folder, 'README'), 'This is the inventory of prod\n');
      const e = await loadInventory(folder).catch((x) => x);
      expect(e).toBeInstanceOf(ValidationError);
      expect(e.problems.map((p: Problem) => p.file)).toEqual([join(folder, 'README')]);
      expect(e.problems[0].message).toMatch(
        /^expected key=value after the host name, got 'is'.* \(every file of the inventory folder .* is read as an inventory, as Ansible reads it, but hidden ones, group_vars\/, host_vars\/ and names ending in \.md \.txt .*: if README is not an inventory, move it out of the folder or give it one of those endings \(README\.md\)\)$/,
      );
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('refuses a range that would expand to more hosts than any inventory needs', () => {
    expect(() => parseInventoryText('h.ini', 'node[0:99999999]\n', 'ini')).toThrow(
      'expands to more than 100000 hosts',
    );
  });

  it('refuses INI values with no JSON form instead of guessing', () => {
    expect(() => parseInventoryText('h.ini', "[all:vars]\ns={'a', 'b'}\n", 'ini')).toThrow(
      'Python set',
    );
  });
});

describe('format detection', () => {
  it('decides by extension, and by content for a name without one', async () => {
    const yaml = await readFile(`${fixtures}patterns/hosts.yaml`, 'utf8');
    expect(detectInventoryFormat('hosts.yml', '')).toBe('yaml');
    expect(detectInventoryFormat('hosts.cfg', yaml)).toBe('ini');
    expect(detectInventoryFormat('inventory/hosts', yaml)).toBe('yaml');
    expect(detectInventoryFormat('inventory/hosts', '[web]\nweb-01\n')).toBe('ini');
    expect(detectInventoryFormat('inventory/hosts', 'mail.example.com\n')).toBe('ini');
  });
});

describe('group_vars/ and host_vars/ folders', () => {
  it('reads each folder once for all its hosts, and refuses one it cannot read rather than go without its vars', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'opsbook-vars-'));
    try {
      await writeFile(join(dir, 'hosts.ini'), '[web]\nweb-01\nweb-02\n');
      await mkdir(join(dir, 'host_vars'));
      await writeFile(join(dir, 'host_vars', 'web-02.yml'), 'color: red\n');
      // A listing without the host is enough to skip it: no stat of web-01, web-01.yml, ….
      const inv = await loadInventory(join(dir, 'hosts.ini'));
      expect(inv.hosts.map((h) => [h.name, h.vars.color])).toEqual([
        ['web-01', undefined],
        ['web-02', 'red'],
      ]);
      // A group_vars that loops onto itself cannot be listed: a clear refusal naming it.
      await symlink(join(dir, 'group_vars'), join(dir, 'group_vars'));
      await expect(loadInventory(join(dir, 'hosts.ini'))).rejects.toThrow(
        `cannot read ${join(dir, 'group_vars')} (ELOOP): make it readable, or move it away`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
