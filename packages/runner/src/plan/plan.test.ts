import { createHash } from 'node:crypto';
import path from 'node:path';
import { loadInventory, parseInventoryText } from '@opsbook/inventory';
import { digestRunbook, loadRunbook, type RunbookBundle } from '@opsbook/schema';
import { beforeAll, describe, expect, it } from 'vitest';
import { planDigest, renderPlan } from './plan.js';

const repo = path.resolve(import.meta.dirname, '../../../..');
const inventoryText = `[web]
web-01 ansible_host=10.0.0.1 ansible_user=ops
web-02 ansible_host=10.0.0.2 ansible_user=ops log_root=/var/log/other
`;

let bundle: RunbookBundle;
beforeAll(async () => {
  const r = await loadRunbook(path.join(repo, 'runbooks/disk-cleanup'));
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('\n'));
  bundle = r.bundle;
});

async function plan(params: Record<string, string | number | boolean>, inventory = inventoryText) {
  const inv = parseInventoryText('hosts.ini', inventory, 'ini');
  const digest = await digestRunbook(bundle.dir, bundle);
  return renderPlan({
    bundle,
    digest,
    ticket: 'OPS-1',
    params,
    secretParams: [],
    hosts: inv.hosts,
  });
}

const params = { path: '/var/log/app', days: 7, keep_days: 30, max_used_percent: 85 };

describe('renderPlan', () => {
  it('renders every command per host with values already shell-quoted', async () => {
    const p = await plan({ ...params, path: "/var/log/it's here" });
    const step = p.hosts[0]?.phases.steps[0];
    expect(step?.command).toBe(
      "find '/var/log/it'\\''s here' -xdev -type f -name '*.log' -mtime +'7' -print -exec gzip -9 -- {} +",
    );
    expect(step).toMatchObject({
      kind: 'run',
      sudo: true,
      timeoutMs: 30 * 60_000,
      expect: { exitCodes: [0] },
    });
    expect(p.hosts.map((h) => [h.name, h.connection.address, h.connection.user])).toEqual([
      ['web-01', '10.0.0.1', 'ops'],
      ['web-02', '10.0.0.2', 'ops'],
    ]);
  });

  it('binds script steps to the sha256 of the file in the bundle', async () => {
    const p = await plan(params);
    const digest = await digestRunbook(bundle.dir, bundle);
    const file = digest.files.find((f) => f.path === 'scripts/check-usage.sh');
    expect(p.hosts[0]?.phases.postchecks[0]).toMatchObject({
      kind: 'script',
      script: { path: 'scripts/check-usage.sh', sha256: file?.sha256 },
    });
  });

  it('has a digest that is stable, and changes with a param, a host or a host variable', async () => {
    const base = planDigest(await plan(params));
    expect(planDigest(await plan({ ...params }))).toBe(base);
    expect(planDigest(await plan({ ...params, days: 8 }))).not.toBe(base);
    expect(planDigest(await plan(params, inventoryText.replace('10.0.0.2', '10.0.0.3')))).not.toBe(
      base,
    );
    expect(
      planDigest(
        await plan(params, inventoryText.replace('ansible_user=ops\n', 'ansible_user=root\n')),
      ),
    ).not.toBe(base);
  });
});

describe('renderPlan with secrets and host templates', () => {
  it('renders a secret as its environment variable, never its value', async () => {
    const dir = path.join(repo, 'runbooks/disk-cleanup');
    const secretBundle: RunbookBundle = {
      ...bundle,
      dir,
      runbook: {
        ...bundle.runbook,
        spec: {
          ...bundle.runbook.spec,
          params: { ...bundle.runbook.spec.params, token: { type: 'string', secret: true } },
          prechecks: [],
          steps: [
            {
              id: 'call',
              name: 'Call',
              run: 'curl -H "X-Token: {{ params.token }}" https://{{ host.name }}/{{ host.vars.log_root }}',
            },
          ],
          postchecks: [],
          evidence: [],
        },
      },
    };
    const inv = parseInventoryText(
      'hosts.ini',
      inventoryText.replace('ansible_user=ops\n', 'ansible_user=ops log_root=/var/log/one\n'),
      'ini',
    );
    const digest = await digestRunbook(dir, bundle);
    const p = renderPlan({
      bundle: secretBundle,
      digest,
      ticket: 'OPS-1',
      params,
      secretParams: ['token'],
      hosts: inv.hosts,
    });
    expect(p.hosts[1]?.phases.steps[0]?.command).toBe(
      `curl -H "X-Token: "$OPSBOOK_PARAM_TOKEN"" https://'web-02'/'/var/log/other'`,
    );
    expect(p.secretParams).toEqual(['token']);
  });
});

describe('renderPlan host variables in run: and with:', () => {
  type RunbookStep = RunbookBundle['runbook']['spec']['steps'][number];

  async function planOne(
    step: RunbookStep,
    inventory = inventoryText,
    hosts = parseInventoryText('hosts.ini', inventory, 'ini').hosts,
    vaultFingerprint?: (value: string) => string,
  ) {
    const digest = await digestRunbook(bundle.dir, bundle);
    const spec = {
      ...bundle.runbook.spec,
      prechecks: [],
      steps: [step],
      postchecks: [],
      evidence: [],
    };
    return renderPlan({
      bundle: { ...bundle, runbook: { ...bundle.runbook, spec } },
      digest,
      ticket: 'OPS-1',
      params,
      secretParams: [],
      hosts: hosts.slice(0, 1),
      ...(vaultFingerprint ? { vaultFingerprint } : {}),
    });
  }

  /** hosts-N.yaml: db_password vaulted (VLT_run_secret_N), db_url a template that reads it. */
  async function vaultedPlan(step: RunbookStep, n: 1 | 2 = 1, password = 'vault-password') {
    const fixtures = path.join(repo, 'packages/inventory/src/__fixtures__');
    const inv = await loadInventory(path.join(fixtures, `vaulted-run/hosts-${n}.yaml`), {
      vaultPasswordFile: path.join(fixtures, password),
    });
    return planOne(step, inventoryText, inv.hosts, inv.vaultFingerprint);
  }

  const useVault = {
    id: 'use',
    name: 'Use',
    run: 'connect {{ host.vars.db_url }} --user {{ host.vars.db_user }} --password {{ host.vars.db_password }}',
  };

  it('renders a vaulted host var in run: as an environment variable, bound by a keyed fingerprint', async () => {
    const p = await vaultedPlan(useVault);
    const step = p.hosts[0]?.phases.steps[0];
    // db_url reads the vaulted db_password, so it is vaulted too; db_user is an ordinary value.
    expect(step?.command).toBe(
      `connect "$OPSBOOK_VAULT_db_url" --user 'app' --password "$OPSBOOK_VAULT_db_password"`,
    );
    expect(Object.keys(step?.vault ?? {}).sort()).toEqual(['db_password', 'db_url']);
    expect(step?.vault?.db_password).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(JSON.stringify(p)).not.toContain('VLT_');
    // Not a bare hash of the value: whoever reads the plan cannot test a guess without the password.
    const bare = createHash('sha256').update('VLT_run_secret_1').digest('hex');
    expect(JSON.stringify(p)).not.toContain(bare);
  });

  it('gives another plan digest for another vaulted value, the same for the same one', async () => {
    const one = planDigest(await vaultedPlan(useVault, 1));
    expect(planDigest(await vaultedPlan(useVault, 1))).toBe(one);
    expect(planDigest(await vaultedPlan(useVault, 2))).not.toBe(one);
  });

  it('refuses a vaulted host var in with:, where the plan would show it', async () => {
    const e = await vaultedPlan({
      id: 'note',
      name: 'Note',
      uses: 'backup.files',
      with: { paths: ['/srv/{{ host.vars.db_password }}'] },
    }).catch((x) => x);
    expect(e).toMatchObject({ code: 'TEMPLATE_INVALID' });
    expect(e.message).toContain(
      "host variable 'db_password' of 'web-01' is Ansible Vault encrypted: here its value would be shown in the plan; use it in a run: command",
    );
    expect(`${e.message}\n${JSON.stringify(e)}`).not.toContain('VLT_');
  });

  it('refuses a with: naming a host variable the host lacks, with the message run: gives', async () => {
    const template = 'backup of {{ host.vars.data_root }}';
    const run = await planOne({ id: 'note', name: 'Note', run: template }).catch((e) => e);
    const uses = await planOne({
      id: 'note',
      name: 'Note',
      uses: 'backup.files',
      with: { paths: [template] },
    }).catch((e) => e);
    const missing =
      "host 'web-01' has no variable 'data_root': define it in the inventory (at character 11 of it)";
    // At runbook.yaml's line and column (the scalar's, or its nearest ancestor's here, since the
    // step was put in place of the fixture's own), naming the field.
    expect(run).toMatchObject({
      code: 'TEMPLATE_INVALID',
      problems: [{ message: `steps.note.run: ${missing}`, file: bundle.file }],
    });
    expect(run.problems[0].line).toBeGreaterThan(0);
    expect(uses).toMatchObject({
      code: 'TEMPLATE_INVALID',
      problems: [{ message: `steps.note.with.paths.0: ${missing}`, file: bundle.file }],
    });
    expect(uses.problems[0].line).toBeGreaterThan(0);
  });

  it('refuses a vaulted threshold host var of an inspection step without showing it', async () => {
    // Made by ansible-vault encrypt_string: VLT_threshold_secret, which is not a number.
    const fixtures = path.join(repo, 'packages/inventory/src/__fixtures__');
    const inv = await loadInventory(path.join(fixtures, 'vaulted-bad-values/threshold.yaml'), {
      vaultPasswordFile: path.join(fixtures, 'vault-password'),
    });
    const step = { id: 'disk', name: 'Disk', uses: 'inspection.disk' };
    const e = await planOne(step, inventoryText, inv.hosts).catch((x) => x);
    expect(e).toMatchObject({ code: 'INSPECTION_THRESHOLD_INVALID' });
    expect(e.message).toContain(
      'host var opsbook_threshold_disk_warn_pct: is (a vaulted value), refused',
    );
    expect(`${e.message}\n${JSON.stringify(e)}`).not.toContain('VLT_');
  });

  it('substitutes a host variable the host has into with: as plain text, unquoted', async () => {
    const p = await planOne(
      {
        id: 'note',
        name: 'Note',
        uses: 'backup.files',
        with: { paths: ['{{ host.vars.data_root }}/a b'] },
      },
      inventoryText.replace('ansible_user=ops\n', 'ansible_user=ops data_root=/srv\n'),
    );
    expect(p.hosts[0]?.phases.steps[0]).toMatchObject({
      kind: 'uses',
      with: { paths: ['/srv/a b'] },
    });
  });
});
