import {
  type ParamSpec,
  type ParamValue,
  type Phase,
  parseComposeRef,
  phases,
  type RunbookBundle,
  type Step,
  targetDefaults,
} from '@opsbook/schema';
import type { LeftOutRun } from '../history/verified-runs.js';
import { compareVersions } from '../stats/runbook-stats.js';
import type { CatalogHistory, CatalogRunFact } from './catalog-history.js';

/**
 * The catalog of the runbook library (`opsbook catalog`): every runbook's params, targets, steps
 * by phase, the runbooks it composes and that compose it, and its versions, each with its
 * CHANGELOG entry and the approvals and runs that used it. Pure: loaded runbooks and a read
 * history in, one document out, which the HTML and Markdown renderers show as it is.
 */

export interface CatalogSource {
  bundle: RunbookBundle;
  /** Its bundle digest now (what a new approval would be bound to). */
  digest: string;
  /** From its CHANGELOG.md (newest first), or empty. */
  changelog: ReadonlyArray<{ version: string; changes: readonly string[] }>;
}

/** A runbook folder that did not load (opsbook validate says why). */
export interface CatalogBroken {
  name: string;
  problems: string[];
}

export interface CatalogParam {
  name: string;
  type: string;
  default?: ParamValue;
  required: boolean;
  secret: boolean;
  description: string | null;
  /** pattern, one of, ≥, ≤, length. */
  rules: string[];
}

export interface CatalogStep {
  id: string;
  name: string;
  action: 'run' | 'script' | 'uses';
  /** The command, `script path args`, or the `uses:` value, as written. */
  text: string;
  /** A `uses:` step's `with:` as written. */
  with?: unknown;
  /** A `uses: runbook:<name>@<range>` step: the runbook it runs. */
  composes?: { name: string; range: string };
  flags: string[];
}

export interface CatalogApproval {
  id: string;
  tickets: string[];
  signers: string[];
  maxRuns: number | null;
  runs: number;
}

export interface CatalogRun {
  runId: string;
  ticket: string | null;
  status: string;
  startedAt: string | null;
  endedAt: string | null;
  hosts: number;
  approvalId: string | null;
  executor: string | null;
}

export interface CatalogVersion {
  version: string;
  isCurrent: boolean;
  changes: string[];
  /** The bundle digests its runs were approved for (and today's, for the current version). */
  digests: string[];
  approvals: CatalogApproval[];
  /** Newest first. */
  runs: CatalogRun[];
}

export interface CatalogRunbook {
  name: string;
  version: string;
  digest: string;
  title: string;
  description: string | null;
  category: string;
  grade: string;
  owners: string[];
  tags: string[];
  params: CatalogParam[];
  targets: { default: string | null; concurrency: number; maxFailures: number };
  /** The phases that have steps, in the order the runner runs them. */
  phases: Array<{ phase: Phase; title: string; steps: CatalogStep[] }>;
  composes: Array<{ name: string; range: string; isKnown: boolean }>;
  composedBy: string[];
  versions: CatalogVersion[];
  runs: number;
  lastRunAt: string | null;
}

export interface Catalog {
  kind: 'RunbookCatalog';
  version: 1;
  generatedAt: string;
  store: { kind: string; location: string } | null;
  runbooks: CatalogRunbook[];
  broken: CatalogBroken[];
  /** Runs in the history of runbooks this repository does not have (renamed or removed). */
  otherRunbooks: Array<{ name: string; runs: number; lastRunAt: string | null }>;
  leftOut: LeftOutRun[];
}

/** How the catalog heads each phase (its HTML and Markdown alike). */
export const PHASE_TITLES: Record<Phase, string> = {
  prechecks: 'Prechecks',
  steps: 'Steps',
  postchecks: 'Postchecks',
  rollback: 'Rollback (on hosts where steps failed)',
  evidence: 'Evidence (read-only, attached to the ticket)',
};

export function buildCatalog(
  sources: readonly CatalogSource[],
  history: CatalogHistory | null,
  options: { now?: Date; broken?: readonly CatalogBroken[] } = {},
): Catalog {
  const names = new Set(sources.map((s) => s.bundle.name));
  const runsOf = new Map<string, CatalogRunFact[]>();
  for (const run of history?.runs ?? [])
    runsOf.set(run.runbook, [...(runsOf.get(run.runbook) ?? []), run]);
  const runbooks = sources
    .map((s) => catalogRunbook(s, runsOf.get(s.bundle.name) ?? [], names))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const r of runbooks)
    r.composedBy = runbooks
      .filter((o) => o.composes.some((c) => c.name === r.name))
      .map((o) => o.name);
  return {
    kind: 'RunbookCatalog',
    version: 1,
    generatedAt: (options.now ?? new Date()).toISOString(),
    store: history?.store ?? null,
    runbooks,
    broken: [...(options.broken ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1)),
    otherRunbooks: [...runsOf]
      .filter(([name]) => !names.has(name))
      .map(([name, runs]) => ({ name, runs: runs.length, lastRunAt: lastStart(runs) }))
      .sort((a, b) => (a.name < b.name ? -1 : 1)),
    leftOut: history?.leftOut ?? [],
  };
}

function catalogRunbook(
  source: CatalogSource,
  runs: readonly CatalogRunFact[],
  names: ReadonlySet<string>,
): CatalogRunbook {
  const { bundle } = source;
  const { metadata, spec } = bundle.runbook;
  const stepsOf = (phase: Phase) => ((spec as Record<string, unknown>)[phase] ?? []) as Step[];
  const catalogPhases = phases
    .map((phase) => ({ phase, title: PHASE_TITLES[phase], steps: stepsOf(phase).map(catalogStep) }))
    .filter((p) => p.steps.length > 0);
  const composes = new Map<string, string>();
  for (const p of catalogPhases)
    for (const s of p.steps) if (s.composes) composes.set(s.composes.name, s.composes.range);
  return {
    name: bundle.name,
    version: bundle.version,
    digest: source.digest,
    title: metadata.title,
    description: metadata.description ?? null,
    category: metadata.category,
    grade: metadata.grade,
    owners: [...(metadata.owners ?? [])],
    tags: [...(metadata.tags ?? [])],
    params: Object.entries(spec.params ?? {}).map(([name, p]) => catalogParam(name, p)),
    targets: {
      default: spec.targets?.default ?? null,
      concurrency: spec.targets?.concurrency ?? targetDefaults.concurrency,
      maxFailures: spec.targets?.maxFailures ?? targetDefaults.maxFailures,
    },
    phases: catalogPhases,
    composes: [...composes].map(([name, range]) => ({ name, range, isKnown: names.has(name) })),
    composedBy: [],
    versions: catalogVersions(source, runs),
    runs: runs.length,
    lastRunAt: lastStart(runs),
  };
}

function catalogParam(name: string, p: ParamSpec): CatalogParam {
  const rules: string[] = [];
  if (p.pattern !== undefined) rules.push(`pattern ${p.pattern}`);
  if (p.enum) rules.push(`one of ${p.enum.join(', ')}`);
  if (p.minimum !== undefined) rules.push(`≥ ${p.minimum}`);
  if (p.maximum !== undefined) rules.push(`≤ ${p.maximum}`);
  if (p.minLength !== undefined) rules.push(`length ≥ ${p.minLength}`);
  if (p.maxLength !== undefined) rules.push(`length ≤ ${p.maxLength}`);
  return {
    name,
    type: p.type,
    ...(p.default !== undefined ? { default: p.default } : {}),
    required: p.required === true,
    secret: p.secret === true,
    description: p.description ?? null,
    rules,
  };
}

function catalogStep(step: Step): CatalogStep {
  const flags: string[] = [];
  if (step.where === 'local') flags.push('local');
  if (step.sudo) flags.push('sudo');
  if (step.timeout) flags.push(`timeout ${step.timeout}`);
  if (step.continueOnError) flags.push('continue on error');
  if (step.expect?.exitCode !== undefined)
    flags.push(`exit ${[step.expect.exitCode].flat().join('|')}`);
  if (step.expect?.stdout !== undefined) flags.push(`stdout ~ /${step.expect.stdout}/`);
  if (step.expect?.stderr !== undefined) flags.push(`stderr ~ /${step.expect.stderr}/`);
  const base = { id: step.id, name: step.name, flags };
  if (step.run !== undefined) return { ...base, action: 'run', text: step.run.replace(/\n$/, '') };
  if (step.script !== undefined)
    return { ...base, action: 'script', text: [step.script, ...(step.args ?? [])].join(' ') };
  // A built-in action, a composed runbook (`runbook:<name>@<range>`), or a value this opsbook does
  // not know yet: each is shown as written, a composed runbook also as a link.
  const uses = String(step.uses ?? '');
  const composed = parseComposeRef(uses);
  return {
    ...base,
    action: 'uses',
    text: uses,
    ...(step.with !== undefined ? { with: step.with } : {}),
    ...(composed ? { composes: { name: composed.name, range: composed.range } } : {}),
  };
}

function catalogVersions(source: CatalogSource, runs: readonly CatalogRunFact[]): CatalogVersion[] {
  const current = source.bundle.version;
  const versions = new Set([current, ...source.changelog.map((e) => e.version)]);
  for (const r of runs) versions.add(r.version);
  return [...versions]
    .sort((a, b) => compareVersions(b, a))
    .map((version) => {
      const used = runs.filter((r) => r.version === version);
      const digests = new Set(used.flatMap((r) => (r.digest ? [r.digest] : [])));
      if (version === current) digests.add(source.digest);
      return {
        version,
        isCurrent: version === current,
        changes: [...(source.changelog.find((e) => e.version === version)?.changes ?? [])],
        digests: [...digests].sort(),
        approvals: approvalsOf(used),
        runs: used.map((r) => ({
          runId: r.runId,
          ticket: r.ticket,
          status: r.status,
          startedAt: r.startedAt,
          endedAt: r.endedAt,
          hosts: r.hosts,
          approvalId: r.approval?.id ?? null,
          executor: r.executor,
        })),
      };
    });
}

/** The approvals the runs were made under, the most recently used first. */
function approvalsOf(runs: readonly CatalogRunFact[]): CatalogApproval[] {
  const byId = new Map<string, CatalogApproval>();
  for (const r of runs) {
    if (!r.approval) continue;
    const a = byId.get(r.approval.id) ?? {
      id: r.approval.id,
      tickets: [],
      signers: r.approval.signers,
      maxRuns: r.approval.maxRuns,
      runs: 0,
    };
    a.runs++;
    if (r.ticket && !a.tickets.includes(r.ticket)) a.tickets.push(r.ticket);
    byId.set(a.id, a);
  }
  return [...byId.values()];
}

function lastStart(runs: readonly CatalogRunFact[]): string | null {
  return runs.reduce<string | null>(
    (last, r) => (r.startedAt && (!last || r.startedAt > last) ? r.startedAt : last),
    null,
  );
}
