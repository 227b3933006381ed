import path from 'node:path';
import { loadInventory } from '@opsbook/inventory';
import { digestRunbook, loadRunbook } from '@opsbook/schema';
import { describe, expect, it } from 'vitest';
import { renderPlan } from '../plan/plan.js';
import { allVaultValues, stepVaultEnv, vaultValuesOf } from './vault-env.js';

const repo = path.resolve(import.meta.dirname, '../../../..');
const fixtures = path.join(repo, 'packages/inventory/src/__fixtures__');

/*
 * What `opsbook run` and a worker's shard (shard-run.ts) both hand to executePlan: the vaulted
 * values a plan's run: steps name, by host, read from the inventory the plan was derived from.
 */
describe('vaultValuesOf and stepVaultEnv', () => {
  it('give each step exactly the vaulted values its command names, and the mask all of them', async () => {
    const loaded = await loadRunbook(path.join(repo, 'runbooks/disk-cleanup'));
    if (!loaded.ok) throw new Error(loaded.problems.map((p) => p.message).join('\n'));
    const inv = await loadInventory(path.join(fixtures, 'vaulted-run/hosts-1.yaml'), {
      vaultPasswordFile: path.join(fixtures, 'vault-password'),
    });
    const { bundle } = loaded;
    const steps = [
      { id: 'use', name: 'Use', run: 'login {{ host.vars.db_url }}' },
      { id: 'plain', name: 'Plain', run: 'echo {{ host.vars.db_user }}' },
    ];
    const plan = renderPlan({
      bundle: {
        ...bundle,
        runbook: {
          ...bundle.runbook,
          spec: { ...bundle.runbook.spec, prechecks: [], steps, postchecks: [], evidence: [] },
        },
      },
      digest: await digestRunbook(bundle.dir, bundle),
      ticket: 'OPS-1',
      params: { path: '/var/log/app', days: 7, keep_days: 30, max_used_percent: 85 },
      secretParams: [],
      hosts: inv.hosts,
      ...(inv.vaultFingerprint ? { vaultFingerprint: inv.vaultFingerprint } : {}),
    });
    const values = vaultValuesOf(plan, inv);
    expect(Object.fromEntries(values)).toEqual({
      'web-01': { db_url: 'postgres://app:VLT_run_secret_1@db/app' },
    });
    const [use, plain] = plan.hosts[0]!.phases.steps;
    expect(stepVaultEnv(values, 'web-01', use!)).toEqual({
      OPSBOOK_VAULT_db_url: 'postgres://app:VLT_run_secret_1@db/app',
    });
    expect(stepVaultEnv(values, 'web-01', plain!)).toEqual({});
    expect(allVaultValues(values)).toEqual(['postgres://app:VLT_run_secret_1@db/app']);
  });
});
