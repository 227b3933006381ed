import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseInventoryText } from '@opsbook/inventory';
import { type AlertRules, loadAlertRules, type LoadRulesOptions } from '../rules.js';
import { type Topology, topologyOf } from '../topology.js';

/** Loads alerts.yaml text (and on-call files beside it) through the real loader. */
export async function rulesOf(
  yaml: string,
  files: Record<string, string> = {},
  options: LoadRulesOptions = {},
): Promise<AlertRules> {
  const dir = await mkdtemp(path.join(tmpdir(), 'opsbook-alert-rules-'));
  try {
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
    await writeFile(path.join(dir, 'alerts.yaml'), yaml);
    const rules = await loadAlertRules(path.join(dir, 'alerts.yaml'), options);
    return { ...rules, file: 'alerts.yaml' };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A small estate: two database hosts in group db (zone eu-1, running postgres), two web hosts
 * in group web (zone eu-2, running nginx), reached by address.
 */
export const ESTATE_INVENTORY = `
all:
  children:
    db:
      hosts:
        db-1: {ansible_host: 10.0.0.11, zone: eu-1, services: [postgres, node]}
        db-2: {ansible_host: 10.0.0.12, zone: eu-1, services: [postgres, node]}
    web:
      hosts:
        web-1: {ansible_host: 10.0.1.21, zone: eu-2, services: "nginx, node"}
        web-2: {ansible_host: 10.0.1.22, zone: eu-2, services: "nginx, node"}
`;

export function estateTopology(servicesVar = 'services'): Topology {
  return topologyOf(
    parseInventoryText('inventory/hosts.yaml', ESTATE_INVENTORY, 'yaml'),
    servicesVar,
  );
}
