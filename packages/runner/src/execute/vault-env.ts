import { vaultEnvName } from '@opsbook/exec';
import type { Inventory } from '@opsbook/inventory';
import type { Plan, PlannedHost, PlannedStep } from '../plan/plan.js';

/**
 * The Ansible Vault encrypted host vars a run passes to its `run:` commands, by host: each step
 * that names one binds its fingerprint in the plan (step `vault`) and gets the value in
 * `OPSBOOK_VAULT_<name>`. Read from the inventory the plan was derived from at run time.
 */
export type VaultValues = ReadonlyMap<string, Readonly<Record<string, string>>>;

export function vaultValuesOf(plan: Plan, inventory: Inventory): VaultValues {
  const out = new Map<string, Record<string, string>>();
  let byName: Map<string, Inventory['hosts'][number]> | undefined;
  for (const planned of plan.hosts) {
    const names = vaultNamesOf(planned);
    if (names.size === 0) continue;
    byName ??= new Map(inventory.hosts.map((h) => [h.name, h]));
    const vars = byName.get(planned.name)?.vars ?? {};
    const values: Record<string, string> = {};
    for (const name of names) values[name] = String(vars[name] ?? '');
    out.set(planned.name, values);
  }
  return out;
}

/** Every value of `values`: what the run's output and journal mask. */
export function allVaultValues(values: VaultValues | undefined): string[] {
  return values ? [...values.values()].flatMap((v) => Object.values(v)) : [];
}

/** The environment a step gets for the vaulted host vars its command names. */
export function stepVaultEnv(
  values: VaultValues | undefined,
  host: string,
  step: PlannedStep,
): Record<string, string> {
  if (!step.vault) return {};
  const own = values?.get(host) ?? {};
  return Object.fromEntries(Object.keys(step.vault).map((n) => [vaultEnvName(n), own[n] ?? '']));
}

function vaultNamesOf(host: PlannedHost): Set<string> {
  const names = new Set<string>();
  const phaseSets = [host.phases, ...Object.values(host.composed ?? {})];
  for (const phases of phaseSets)
    for (const steps of Object.values(phases))
      for (const step of steps) for (const name of Object.keys(step.vault ?? {})) names.add(name);
  return names;
}
