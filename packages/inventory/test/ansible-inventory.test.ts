import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Inventory, loadInventory, selectHosts } from '../src/index.js';

/**
 * The real peer: Ansible's own `ansible-inventory --list` must resolve the fixture inventories
 * to the same hosts, groups and variables. CI installs ansible; a machine without it fails here.
 */
const run = promisify(execFile);
const fixtures = fileURLToPath(new URL('../src/__fixtures__/', import.meta.url));
const ANSIBLE_INVENTORY = '/usr/bin/ansible-inventory';

let cwd: string;
beforeAll(async () => {
  // An empty working folder: ansible-inventory also reads group_vars/ beside the current folder.
  cwd = await mkdtemp(join(tmpdir(), 'opsbook-ansible-inventory-'));
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

interface AnsibleListing {
  _meta: { hostvars: Record<string, Record<string, unknown>> };
  [group: string]: { hosts?: string[]; children?: string[] } | AnsibleListing['_meta'];
}

const ansibleEnv = () => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: cwd,
  ANSIBLE_INVENTORY_ENABLED: 'ini,yaml',
  ANSIBLE_INVENTORY_UNPARSED_FAILED: 'true',
  ANSIBLE_NOCOLOR: '1',
});

async function ansibleList(file: string): Promise<AnsibleListing> {
  const { stdout } = await run(ANSIBLE_INVENTORY, ['-i', file, '--list'], {
    cwd,
    env: ansibleEnv(),
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as AnsibleListing;
}

/** Our inventory in ansible-inventory's --list shape. */
function listingOf(inventory: Inventory): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const g of inventory.groups) {
    const entry: { hosts?: string[]; children?: string[] } = {};
    if (g.hosts.length > 0) entry.hosts = g.hosts;
    if (g.children.length > 0) entry.children = g.children;
    if (Object.keys(entry).length > 0) out[g.name] = entry;
  }
  const hostvars: Record<string, unknown> = {};
  for (const h of inventory.hosts) if (Object.keys(h.vars).length > 0) hostvars[h.name] = h.vars;
  out._meta = { hostvars };
  return out;
}

describe('ansible-inventory agrees', () => {
  it('is installed (CI installs it; this test must not pass without the real peer)', async () => {
    const { stdout } = await run(ANSIBLE_INVENTORY, ['--version'], { cwd });
    expect(stdout).toMatch(/^ansible-inventory \[core \d+\.\d+/);
  });

  it.each([
    'ansible-docs-example/hosts.ini',
    'ansible-docs-example/hosts.yaml',
    'precedence/hosts.yaml',
    'precedence/hosts.ini',
    'ranges/hosts.ini',
    'ranges/hosts.yaml',
    'ini-quoting/hosts.ini',
    'patterns/hosts.yaml',
    'connection-vars/hosts.ini',
    'connection-routes/hosts.ini',
    'order-of-all/hosts.ini',
    'shared-memberships/hosts.ini',
  ])('on %s: same groups, members and resolved host variables', async (file) => {
    const path = fixtures + file;
    const [ours, theirs] = await Promise.all([loadInventory(path), ansibleList(path)]);
    expect(listingOf(ours)).toEqual(theirs);
  });
});

describe('ansible --list-hosts agrees on host patterns', () => {
  it.each([
    'web:&prod:!web-03',
    'web:!prod',
    'prod:staging:!web',
    '~(web|db)-0[1]',
    'web[1:3]',
    'web-*:&eu',
  ])('%s selects the same hosts, in the same order', async (pattern) => {
    const path = `${fixtures}patterns/hosts.yaml`;
    const { stdout } = await run('/usr/bin/ansible', ['-i', path, pattern, '--list-hosts'], {
      cwd,
      env: ansibleEnv(),
    });
    const theirs = stdout
      .split('\n')
      .slice(1)
      .map((l) => l.trim())
      .filter(Boolean);
    const ours = selectHosts(await loadInventory(path), pattern).map((h) => h.name);
    expect(ours).toEqual(theirs);
    expect(ours.length).toBeGreaterThan(0);
  });
});
