import { type Inventory, loadInventory } from '@opsbook/inventory';

/**
 * The host vars the configured inventory holds Ansible Vault encrypted (`!vault` values, and the
 * vars of vault files it could open), for lint's secret-in-command; with what lint could not
 * learn, said in a note. No inventory configured: nothing to learn, no note.
 */
export async function vaultedHostVars(
  inventoryFile: string | undefined,
): Promise<{ names: string[]; note?: string }> {
  if (inventoryFile === undefined) return { names: [] };
  let inventory: Inventory;
  try {
    inventory = await loadInventory(inventoryFile);
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return {
      names: [],
      note: `the inventory ${inventoryFile} was not read (${why}): host vars are taken for credentials by their names only (db_password, api_token…); opsbook inventory shows what is wrong`,
    };
  }
  const names = new Set<string>();
  const unread = new Set<string>();
  for (const host of inventory.hosts) {
    for (const [name, at] of Object.entries(host.varOrigins)) if (at.isVaulted) names.add(name);
    for (const file of host.unreadVaultFiles ?? []) unread.add(file);
  }
  return {
    names: [...names].sort(),
    ...(unread.size
      ? {
          note: `${unread.size} vault-encrypted vars file(s) of the inventory were not opened (no vault password; ${[...unread].sort().join(', ')}): their vars are taken for credentials by their names only; give the vault password in a file named by ANSIBLE_VAULT_PASSWORD_FILE to have lint know them`,
        }
      : {}),
  };
}
