import type { BackupEntry } from '@opsbook/backup';
import {
  renderRunTemplate,
  renderTemplate,
  type TemplateEncoding,
  type TemplateLocation,
  vaultEnvName,
} from '@opsbook/exec';
import { connectionOf, type InventoryHost } from '@opsbook/inventory';
import {
  type BundleDigest,
  digestOfValue,
  type ParamValue,
  type Phase,
  phases,
  type RunbookBundle,
  readDuration,
  type Step,
  targetDefaults,
  ValidationError,
} from '@opsbook/schema';
import type { FromSchema } from 'json-schema-to-ts';
import { builtinActions } from '../actions/actions.js';
import type { Composition } from './compose.js';
import { type BoundComposition, bindCompositions } from './compose-params.js';
import { type plannedHostSchema, type plannedStepSchema, planSchema } from './plan-schema.js';

/** Steps without a timeout are killed after this long, so that no run can hang forever. */
export const DEFAULT_STEP_TIMEOUT_MS = 15 * 60 * 1000;

/**
 * The rendered plan: exactly what will run, on which host, as which user. Pure data computed
 * from the runbook bundle, the params and the inventory; its digest is what a senior signs, so
 * any change to runbook bytes, params or host vars that changes a command gives a new digest.
 */
export type Plan = FromSchema<typeof planSchema>;
export type PlannedHost = FromSchema<typeof plannedHostSchema>;
export type PlannedStep = FromSchema<typeof plannedStepSchema>;
export { planSchema };

export interface PlanInput {
  bundle: RunbookBundle;
  digest: BundleDigest;
  ticket: string;
  params: Record<string, ParamValue>;
  secretParams: readonly string[];
  hosts: readonly InventoryHost[];
  /** The runbooks it composes, resolved (compose.ts); none when it composes none. */
  compositions?: readonly Composition[];
  /**
   * The inventory's `vaultFingerprint`: how a `run:` binds an Ansible Vault encrypted host var
   * it names (the step's `vault`), since the command holds `"$OPSBOOK_VAULT_<name>"`, not it.
   */
  vaultFingerprint?(value: string): string;
  /** The runner's backups, when a step selects one (backupsForPlan): bound into its `with:`. */
  backups?: readonly BackupEntry[];
}

/**
 * One runbook of the plan as its steps render: the planned runbook, or one it composes, with its
 * own bundle and params. `prefix` makes a composed step's id its path (`tidy/label`).
 */
interface PlanUnit {
  bundle: RunbookBundle;
  digest: BundleDigest;
  params: Record<string, ParamValue>;
  secretParams: readonly string[];
  prefix: string;
  /** The runbooks its steps compose, by step id. */
  composes: ReadonlyMap<string, BoundComposition>;
  vaultFingerprint: PlanInput['vaultFingerprint'];
  backups: PlanInput['backups'];
}

export function parseDurationMs(text: string): number {
  const duration = readDuration(text, ['ms', 's', 'm', 'h']);
  if (!duration)
    throw new ValidationError([
      {
        file: 'runbook.yaml',
        line: 0,
        col: 0,
        rule: 'bad-format',
        message: `bad duration ${text}`,
      },
    ]);
  return duration.ms;
}

/**
 * Where the `run:` or `with:` of the step at `phase`/`index` starts in its runbook.yaml, for a
 * template problem in it (`what` names the field). Asked only when there is a problem: nothing
 * is located, and no path is built, for a template that renders.
 */
function scalarAt(
  input: PlanUnit,
  phase: Phase,
  index: number,
  field: 'run' | 'with',
  what: string,
): () => TemplateLocation {
  return () => {
    const { line, col } = input.bundle.source.locate(['spec', phase, index, field], 'value');
    return { file: input.bundle.file, line, col, what };
  };
}

/**
 * Render a `with:` value: templates become plain values (actions get data, not shell text), by
 * the same rules as a `run:` (a missing host var or param is refused, never an empty string).
 */
function renderWith(
  withValue: unknown,
  input: PlanUnit,
  host: InventoryHost,
  where: string,
  at: { phase: Phase; index: number },
) {
  const encoding: TemplateEncoding = {
    value: (text) => text,
    secret: (name) => {
      throw ValidationError.single(
        input.bundle.file,
        `${where} names secret param ${name}: actions cannot receive secrets through with:`,
        'secret-in-with',
      );
    },
  };
  const render = (value: unknown, path: string): unknown => {
    if (typeof value === 'string') {
      if (!value.includes('{{')) return value;
      const source = `${input.bundle.file} ${path}`;
      const renderInput = {
        params: input.params,
        secretParams: input.secretParams,
        host: templateHost(host),
        source,
        // At the step's `with:` (its line), the field named in full by `path`.
        located: scalarAt(input, at.phase, at.index, 'with', path),
      };
      return renderTemplate(value, renderInput, encoding);
    }
    if (Array.isArray(value)) return value.map((v, i) => render(v, `${path}.${i}`));
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, render(v, `${path}.${k}`)]),
      );
    }
    return value;
  };
  return render(withValue, `${where}.with`);
}

/** What a template reads of a host: its name, its vars, and which of them were vaulted. */
function templateHost(host: InventoryHost) {
  return {
    name: host.name,
    vars: host.vars,
    isVaulted: (name: string) => host.varOrigins[name]?.isVaulted === true,
  };
}

function planStep(
  step: Step,
  phase: Phase,
  index: number,
  input: PlanUnit,
  host: InventoryHost,
): PlannedStep {
  const where = `${phase}.${step.id}`;
  const base = {
    id: `${input.prefix}${step.id}`,
    name: step.name,
    where: step.where ?? 'remote',
    sudo: step.sudo ?? false,
    timeoutMs: step.timeout ? parseDurationMs(step.timeout) : DEFAULT_STEP_TIMEOUT_MS,
    expect: {
      exitCodes: step.expect?.exitCode === undefined ? [0] : [step.expect.exitCode].flat(),
      ...(step.expect?.stdout !== undefined ? { stdout: step.expect.stdout } : {}),
      ...(step.expect?.stderr !== undefined ? { stderr: step.expect.stderr } : {}),
    },
    continueOnError: step.continueOnError ?? false,
  };
  if (step.run !== undefined) {
    const vault: Record<string, string> = {};
    const command = renderRunTemplate(step.run, {
      params: input.params,
      secretParams: input.secretParams,
      host: templateHost(host),
      source: `${input.bundle.file} ${where}.run`,
      located: scalarAt(input, phase, index, 'run', `${where}.run`),
      vaulted: (name, value) => {
        if (!input.vaultFingerprint)
          throw new Error(`host var ${name} was decrypted without a vault password to bind it`);
        vault[name] = input.vaultFingerprint(value);
      },
    });
    return { ...base, kind: 'run', command, ...(Object.keys(vault).length ? { vault } : {}) };
  }
  if (step.script !== undefined) {
    const rel = step.script.replace(/^\.\//, '');
    const file = input.digest.files.find((f) => f.path === rel);
    if (!file)
      throw ValidationError.single(
        input.bundle.file,
        `${where}: script ${step.script} is not in the bundle`,
        'bad-script-path',
      );
    return {
      ...base,
      kind: 'script',
      script: { path: rel, sha256: file.sha256 },
      args: step.args ?? [],
    };
  }
  const composed = input.composes.get(step.id);
  if (composed) {
    const { bundle, digest } = composed.composition;
    return {
      ...base,
      kind: 'runbook',
      uses: step.uses ?? '',
      runbook: { name: bundle.name, version: bundle.version, digest: digest.digest },
    };
  }
  const rendered = renderWith(step.with ?? {}, input, host, where, { phase, index });
  const action = builtinActions().get(step.uses ?? '');
  // Whatever the action will read from the host's vars is bound into the plan here, so that the
  // senior signs it and a changed var changes the plan digest.
  const bound = action?.bind
    ? action.bind(rendered, host.vars, host.varOrigins, {
        host: host.name,
        ...(input.backups ? { backups: input.backups } : {}),
      })
    : rendered;
  return { ...base, kind: 'uses', uses: step.uses ?? '', with: bound };
}

/** Render every step of every phase for every host. Pure: the same input gives the same plan. */
export function renderPlan(input: PlanInput): Plan {
  const { runbook } = input.bundle;
  const bound = bindCompositions(input.compositions ?? [], {
    values: input.params,
    secrets: Object.fromEntries(input.secretParams.map((n) => [n, n])),
  });
  const root = unitOf(input, input.params, input.secretParams, '', bound, input);
  const composed = flattenBound(bound);
  const units = composed.map((b) => ({
    path: b.composition.path,
    unit: unitOf(
      b.composition,
      b.values,
      Object.keys(b.secrets),
      `${b.composition.path}/`,
      b.children,
      input,
    ),
  }));
  const hosts = input.hosts.map((host) => ({
    name: host.name,
    connection: connectionOf(host),
    phases: renderPhases(root, host),
    ...(units.length
      ? {
          composed: Object.fromEntries(units.map((u) => [u.path, renderPhases(u.unit, host)])),
        }
      : {}),
  }));
  return {
    apiVersion: 'opsbook/v1',
    kind: 'Plan',
    ticket: input.ticket,
    runbook: {
      name: input.bundle.name,
      version: input.bundle.version,
      digest: input.digest.digest,
    },
    category: runbook.metadata.category,
    grade: runbook.metadata.grade,
    params: input.params,
    secretParams: [...input.secretParams].sort(),
    ...(composed.length
      ? {
          composed: composed.map((b) => ({
            step: b.composition.path,
            runbook: {
              name: b.composition.bundle.name,
              version: b.composition.bundle.version,
              digest: b.composition.digest.digest,
            },
            range: b.composition.range,
            params: b.values,
            secrets: b.secrets,
          })),
        }
      : {}),
    concurrency: runbook.spec.targets?.concurrency ?? targetDefaults.concurrency,
    maxFailures: runbook.spec.targets?.maxFailures ?? targetDefaults.maxFailures,
    hosts,
  };
}

function unitOf(
  source: { bundle: RunbookBundle; digest: BundleDigest },
  params: Record<string, ParamValue>,
  secretParams: readonly string[],
  prefix: string,
  composes: readonly BoundComposition[],
  { vaultFingerprint, backups }: Pick<PlanInput, 'vaultFingerprint' | 'backups'>,
): PlanUnit {
  return {
    vaultFingerprint,
    backups,
    bundle: source.bundle,
    digest: source.digest,
    params,
    secretParams,
    prefix,
    composes: new Map(composes.map((c) => [c.composition.step.id, c])),
  };
}

function renderPhases(unit: PlanUnit, host: InventoryHost): Record<Phase, PlannedStep[]> {
  return Object.fromEntries(
    phases.map((phase) => [
      phase,
      (unit.bundle.runbook.spec[phase] ?? []).map((s, i) => planStep(s, phase, i, unit, host)),
    ]),
  ) as Record<Phase, PlannedStep[]>;
}

function flattenBound(bound: readonly BoundComposition[]): BoundComposition[] {
  return bound.flatMap((b) => [b, ...flattenBound(b.children)]);
}

/**
 * The scripts the plan's steps run, the runbook's and its composed runbooks', each once: sha256
 * → path, in the order the steps name them (what a reviewer is shown whole before signing).
 */
export function planScripts(plan: Plan): Map<string, string> {
  const scripts = new Map<string, string>();
  for (const host of plan.hosts)
    for (const phases of [host.phases, ...Object.values(host.composed ?? {})])
      for (const steps of Object.values(phases))
        for (const s of steps)
          if (s.kind === 'script' && s.script && !scripts.has(s.script.sha256))
            scripts.set(s.script.sha256, s.script.path);
  return scripts;
}

/**
 * A reviewer's line for the Ansible Vault encrypted host vars a `run:` step gets (none: undefined):
 * the variables its command reads them from, and the start of each value's fingerprint, so that
 * hosts with other values read differently.
 */
export function vaultLine(step: PlannedStep): string | undefined {
  const vault = Object.entries(step.vault ?? {});
  if (vault.length === 0) return undefined;
  const each = vault.map(([name, fp]) => `$${vaultEnvName(name)} (${fp.slice(0, 24)}…)`);
  return `vaulted values, never shown: ${each.join(', ')}`;
}

/** The digest a senior signs: sha256 over the canonical JSON of the whole plan. */
export function planDigest(plan: Plan): string {
  return digestOfValue(plan);
}
