import path from 'node:path';
import type { Connection } from '@opsbook/inventory';
import { parseInventoryText } from '@opsbook/inventory';
import { compileSchema, digestRunbook, type Phase } from '@opsbook/schema';
import type { FromSchema } from 'json-schema-to-ts';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { loadRunbookFor } from './catalog.js';
import { type Plan, type PlannedStep, planSchema, renderPlan } from './plan.js';
import type { connectionSchema } from './plan-schema.js';

type SchemaConnection = FromSchema<typeof connectionSchema>;

const repo = path.resolve(import.meta.dirname, '../../../..');

/** A plan of a shipped runbook on two inventory hosts, one with every connection variable set. */
async function shippedPlan(runbook: string, params: Record<string, string | number | boolean>) {
  const r = await loadRunbookFor(path.join(repo, 'runbooks', runbook));
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('\n'));
  const inv = parseInventoryText(
    'hosts.ini',
    `[web]
web-01 ansible_host=10.0.0.1 ansible_user=ops ansible_port=2222 ansible_become=yes ansible_ssh_private_key_file=/k ansible_timeout=5
web-02 ansible_connection=local
`,
    'ini',
  );
  return renderPlan({
    bundle: r.bundle,
    digest: await digestRunbook(r.bundle.dir, r.bundle),
    ticket: 'OPS-1',
    params,
    secretParams: [],
    hosts: inv.hosts,
  });
}

describe('plan schema', () => {
  it("holds the connection fragment to inventory's Connection both ways, so they cannot drift", () => {
    expectTypeOf<SchemaConnection>().toExtend<Connection>();
    expectTypeOf<Connection>().toExtend<SchemaConnection>();
    expectTypeOf<Plan['hosts'][number]['connection']>().toEqualTypeOf<SchemaConnection>();
  });

  it('derives a step list for every phase and the step kinds from the schema', () => {
    expectTypeOf<keyof Plan['hosts'][number]['phases']>().toEqualTypeOf<Phase>();
    expectTypeOf<PlannedStep['kind']>().toEqualTypeOf<'run' | 'script' | 'uses' | 'runbook'>();
  });

  it('validates what renderPlan renders for run, script and uses steps', async () => {
    const validate = await compileSchema<Plan>(planSchema);
    const plans = [
      await shippedPlan('disk-cleanup', {
        path: '/var/log/app',
        days: 7,
        keep_days: 30,
        max_used_percent: 85,
      }),
      await shippedPlan('daily-inspection', {}),
    ];
    const kinds = new Set(
      plans
        .flatMap((p) => p.hosts.flatMap((h) => Object.values(h.phases).flat()))
        .map((s) => s.kind),
    );
    expect([...kinds].sort()).toEqual(['run', 'script', 'uses']);
    for (const plan of plans) {
      const valid = validate(plan);
      expect(validate.errors ?? [], plan.runbook.name).toEqual([]);
      expect(valid).toBe(true);
    }
  });

  it('refuses a plan with a field it does not know or a step kind out of its enum', async () => {
    const validate = await compileSchema<Plan>(planSchema);
    const plan = await shippedPlan('collect-diagnostics', {});
    expect(validate({ ...plan, extra: true })).toBe(false);
    const host = plan.hosts[0]!;
    const step = { ...host.phases.steps[0]!, kind: 'shell' };
    const phases = { ...host.phases, steps: [step] };
    expect(validate({ ...plan, hosts: [{ ...host, phases }] })).toBe(false);
  });
});
