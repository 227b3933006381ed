import {
  type Inventory,
  type InventoryHost,
  loadInventory,
  parseInventoryText,
  selectHosts,
} from '@opsbook/inventory';
import { type Config, UsageError } from '@opsbook/schema';

/**
 * The inventory of a run: the file given with -i, else the config's, else the embedded one —
 * a single `localhost` on the local transport, so that opsbook works out of the box.
 */
export async function loadRunInventory(config: Config, file?: string): Promise<Inventory> {
  const chosen = file ?? config.inventory;
  if (chosen) return loadInventory(chosen);
  return parseInventoryText('(embedded inventory)', 'localhost ansible_connection=local\n', 'ini');
}

/** Hosts selected by the pattern given, or by the runbook's default targets. */
export function selectTargets(
  inventory: Inventory,
  pattern: string | undefined,
  runbookDefault: string | undefined,
): InventoryHost[] {
  const chosen = pattern ?? runbookDefault;
  if (!chosen)
    throw new UsageError(
      'this runbook has no default targets: choose hosts with --target PATTERN (e.g. --target web:&prod)',
    );
  return selectHosts(inventory, chosen);
}

/** The inventory hosts named in an approval, in the approval's order; a name missing from the inventory is refused. */
export function hostsByName(
  inventory: Inventory,
  names: readonly string[],
): { hosts: InventoryHost[]; missing: string[] } {
  const byName = new Map(inventory.hosts.map((h) => [h.name, h]));
  const hosts: InventoryHost[] = [];
  const missing: string[] = [];
  for (const n of names) {
    const h = byName.get(n);
    if (h) hosts.push(h);
    else missing.push(n);
  }
  return { hosts, missing };
}
