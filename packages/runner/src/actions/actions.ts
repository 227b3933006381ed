import type { BackupEntry } from '@opsbook/backup';
import type { ExecResult, SshTarget, Transport } from '@opsbook/exec';
import {
  type InspectionCheck,
  inspectionChecks,
  resolveThresholds,
  runCheck,
  type VarOrigins,
} from '@opsbook/inspection';
import type { ActionSpec } from '@opsbook/schema';
import type { StateStore } from '@opsbook/state';
import { runCollector } from '../execute/run-collector.js';
import { backupBuiltins } from './backup-action.js';
import { healthReportBuiltin } from './health-action.js';
import { inventoryCollectAction } from './inventory-action.js';

/** What a built-in action gets when its step runs on a host. */
export interface ActionContext {
  host: string;
  /** The step's `with:`, as planned (templates rendered, host-specific values bound). */
  with: unknown;
  /** The host's transport (one connection, reused). */
  transport: Transport;
  /** Opens SSH connections to machines outside the plan, as the run's hosts (backup.copy). */
  connect?(target: SshTarget): Promise<Transport>;
  /** Params and run facts as OPSBOOK_* variables; secrets are delivered this way too. */
  env: Readonly<Record<string, string>>;
  sudo: boolean;
  timeoutMs: number;
  signal: AbortSignal;
  runId: string;
  stateDir: string;
  /** The run's state store (health.report reads its findings); absent: the files in stateDir. */
  store?: StateStore;
  onStdout(chunk: string): void;
  onStderr(chunk: string): void;
}

export interface ActionOutcome {
  status: 'ok' | 'failed';
  /** The command the action ran on the host, when it ran one. */
  exec?: ExecResult;
  /** Why it failed, in one sentence. */
  reason?: string;
  /** Structured result, journaled as `result` of the step-end event (e.g. `{findings}`). */
  result?: unknown;
}

/** What else a plan binds an action's `with:` to, besides the host's vars. */
export interface PlanFacts {
  /** The inventory name of the host the step is planned for. */
  host: string;
  /**
   * The runner's backup repository as the plan sees it (oldest first), when the runbook has a
   * step that selects a backup: the plan names the backup and binds its manifest digest.
   */
  backups?: readonly BackupEntry[];
}

/**
 * A built-in action (`uses:` in a runbook). `bind` runs at plan time and puts everything the
 * action will use from the host's inventory vars into its `with:`, so that the signed plan is
 * exactly what runs; `run` executes it.
 */
export interface BuiltinAction extends ActionSpec {
  bind?(
    withValue: unknown,
    hostVars: Readonly<Record<string, unknown>>,
    varOrigins: VarOrigins | undefined,
    facts: PlanFacts,
  ): unknown;
  run(ctx: ActionContext): Promise<ActionOutcome>;
}

function inspectionAction(name: string, check: InspectionCheck): BuiltinAction {
  return {
    name,
    description: check.description,
    withSchema: check.withSchema,
    bind(withValue, hostVars, varOrigins) {
      const w = (withValue ?? {}) as Record<string, unknown>;
      const thresholds = resolveThresholds(check, w, hostVars, varOrigins);
      return Object.keys(thresholds).length ? { ...w, thresholds } : w;
    },
    async run(ctx) {
      // The collector's output is a protocol for the parser (OPSBOOK_SECTION…), kept whole in
      // the journal; what a person watching the run sees is the findings it gives.
      const exec = await runCollector({ ...ctx, onStdout: () => {} }, check.collect(ctx.with));
      if (exec.timedOut)
        return { status: 'failed', exec, reason: `the ${name} collector timed out` };
      // Collectors are read-only and exit 0 even when a tool is missing; the parser turns any
      // output (or none) into findings, `unknown` with the reason when it cannot measure.
      const findings = runCheck(name, ctx.with, exec.stdout, ctx.host);
      ctx.onStdout(findingLines(name, findings));
      return { status: 'ok', exec, result: { findings } };
    },
  };
}

const WORST_FIRST = ['crit', 'warn', 'unknown', 'ok'] as const;

/**
 * What an inspection step shows live: its counts by status, then each finding that is not ok
 * (`inspection.disk: 1 crit, 3 ok` / `  crit /var: 97% used (crit at 95%)`).
 */
export function findingLines(
  check: string,
  findings: readonly { status: string; subject?: string; message: string }[],
): string {
  const counts = WORST_FIRST.map((s) => [s, findings.filter((f) => f.status === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  const notable = WORST_FIRST.filter((s) => s !== 'ok').flatMap((s) =>
    findings
      .filter((f) => f.status === s)
      .map((f) => `  ${s} ${f.subject ? `${f.subject}: ` : ''}${f.message}`),
  );
  return `${[`${check}: ${counts.join(', ') || 'no findings'}`, ...notable].join('\n')}\n`;
}

let registry: ReadonlyMap<string, BuiltinAction> | undefined;

/**
 * The built-in actions that runbook steps may name with `uses:`. Each shared package
 * contributes its actions here; validation checks a step's `with:` against the action's schema.
 */
export function builtinActions(): ReadonlyMap<string, BuiltinAction> {
  if (!registry) {
    const all = new Map<string, BuiltinAction>();
    for (const [name, check] of Object.entries(inspectionChecks))
      all.set(name, inspectionAction(name, check));
    all.set(inventoryCollectAction.name, inventoryCollectAction);
    all.set(healthReportBuiltin.name, healthReportBuiltin);
    for (const action of backupBuiltins()) all.set(action.name, action);
    registry = all;
  }
  return registry;
}
