import type { ActionSpec } from '@opsbook/schema';

/**
 * The built-in actions that runbook steps may name with `uses:`. Each shared package contributes
 * its actions here; validation checks a step's `with:` against the action's own schema.
 */
export function builtinActions(): ReadonlyMap<string, ActionSpec> {
  return new Map();
}
