import type { Problem } from '@opsbook/schema';
import { withProblems } from './check-with.js';
import { inspectionErrors } from './error-codes.js';
import type { InspectionCheck, Thresholds } from './inspection-check.js';

interface ThresholdSchema {
  properties?: { thresholds?: { properties?: Record<string, { default?: number }> } };
}

/** The threshold names of a check and their defaults, read from its `with:` schema. */
export function thresholdDefaults(check: InspectionCheck): Record<string, number> {
  const props = (check.withSchema as ThresholdSchema).properties?.thresholds?.properties ?? {};
  const defaults: Record<string, number> = {};
  for (const [name, spec] of Object.entries(props)) {
    if (typeof spec.default === 'number') defaults[name] = spec.default;
  }
  return defaults;
}

/** `inspection.failed-units` + `warn_count` → `opsbook_threshold_failed_units_warn_count`. */
export function thresholdVarName(check: InspectionCheck | string, threshold: string): string {
  const name = typeof check === 'string' ? check : check.name;
  return `opsbook_threshold_${name.replace(/^inspection\./, '').replaceAll('-', '_')}_${threshold}`;
}

/** What a message shows in place of a decrypted Ansible Vault value (the inventory's wording). */
const VAULTED_VALUE = '(a vaulted value)';

/** Where each host var was written, as the inventory gives it: only `isVaulted` is read here. */
export type VarOrigins = Readonly<Record<string, { readonly isVaulted?: boolean } | undefined>>;

/** Inventory vars arrive as numbers (YAML) or strings (INI `key=80`); both are accepted. */
function numericVar(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

/**
 * The limits a check applies on one host. Most specific wins: the check's default, then the
 * runbook step's `with: {thresholds: …}`, then the host's (or its groups') inventory var
 * `opsbook_threshold_<check>_<name>`, so that one big host can be the exception to a runbook.
 * Pure; refuses (ValidationError) a var that is not a number, a value the schema rejects, and
 * a warn limit beyond its crit limit. A var that `varOrigins` marks vaulted is refused, never
 * shown: the resolved limits are bound into the plan the senior signs (so the ticket and the
 * journal), and findings quote them.
 */
export function resolveThresholds(
  check: InspectionCheck,
  withValue: unknown,
  hostVars: Readonly<Record<string, unknown>> = {},
  varOrigins: VarOrigins = {},
): Thresholds {
  const fromWith =
    (withValue as { thresholds?: Record<string, number> } | undefined)?.thresholds ?? {};
  const resolved: Record<string, number> = { ...thresholdDefaults(check), ...fromWith };
  const problems: Problem[] = [];
  for (const name of Object.keys(thresholdDefaults(check))) {
    const varName = thresholdVarName(check, name);
    if (!Object.hasOwn(hostVars, varName)) continue;
    if (varOrigins[varName]?.isVaulted === true) {
      problems.push({
        file: `host var ${varName}`,
        line: 0,
        col: 0,
        rule: 'vaulted-threshold',
        message: `is ${VAULTED_VALUE}, refused: a threshold is bound into the plan the senior signs, the ticket and the journal, and findings quote it, so a vaulted one would be written out in clear there: write it unvaulted (a limit is no secret)`,
      });
      continue;
    }
    const value = numericVar(hostVars[varName]);
    if (value === undefined) {
      problems.push({
        file: `host var ${varName}`,
        line: 0,
        col: 0,
        rule: 'threshold-not-number',
        message: `is ${JSON.stringify(hostVars[varName])}, not a number: set it to a number such as ${resolved[name]}`,
      });
    } else {
      resolved[name] = value;
    }
  }
  const hasThresholds = Object.keys(thresholdDefaults(check)).length > 0;
  if (problems.length === 0 && hasThresholds) {
    const refused = withProblems(
      check,
      { ...(withValue as object), thresholds: resolved },
      `thresholds of ${check.name} (with: and host vars)`,
    );
    problems.push(...refused);
  }
  const shown = (name: string, value: number) => `${name} (${value})`;
  for (const pair of check.thresholdPairs) {
    const warn = resolved[pair.warn];
    const crit = resolved[pair.crit];
    if (warn === undefined || crit === undefined) continue;
    const isCrossed = pair.worse === 'above' ? warn > crit : warn < crit;
    if (isCrossed) {
      const order = pair.worse === 'above' ? 'at most' : 'at least';
      problems.push({
        file: `thresholds of ${check.name}`,
        line: 0,
        col: 0,
        rule: 'threshold-order',
        message: `${shown(pair.warn, warn)} must be ${order} ${shown(pair.crit, crit)}: a value reaches the warning before the critical limit`,
      });
    }
  }
  if (problems.length > 0)
    throw new inspectionErrors.ValidationError(problems, 'INSPECTION_THRESHOLD_INVALID');
  return resolved;
}
