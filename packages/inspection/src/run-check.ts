import { didYouMean, ValidationError } from '@opsbook/schema';
import { assertWith } from './check-with.js';
import type { Finding } from './finding.js';
import type { InspectionCheck, Parsed } from './inspection-check.js';
import { findInspectionCheck, inspectionCheckNames } from './inspection-checks.js';
import { resolveThresholds, type VarOrigins } from './resolve-thresholds.js';

/** A host as the runner knows it: its name and its merged inventory vars. */
export interface InspectedHost {
  name: string;
  vars?: Readonly<Record<string, unknown>>;
  /** Where each var was written; a vaulted one is never shown in a message. */
  varOrigins?: VarOrigins;
}

/** The check behind an action name, or a ValidationError that suggests the closest name. */
export function requireInspectionCheck(name: string): InspectionCheck {
  const check = findInspectionCheck(name);
  if (check) return check;
  const guess = didYouMean(name, inspectionCheckNames);
  const hint = guess
    ? `did you mean '${guess}'?`
    : `known checks: ${inspectionCheckNames.join(', ')}`;
  throw ValidationError.single(
    'uses:',
    `unknown inspection check '${name}': ${hint}`,
    'unknown-check',
  );
}

/**
 * Turn one collector's output into findings. The runner runs `check.collect(with)` on the host
 * and hands its stdout here. Output that is empty, truncated, binary or from a host without the
 * tool gives an `unknown` finding with the reason; only a `with:` value or a threshold that the
 * schema refuses throws (ValidationError), since that is the runbook's or the inventory's mistake.
 */
export function runCheck(
  name: string,
  withValue: unknown,
  output: string | Uint8Array,
  host: string | InspectedHost,
): Finding[] {
  const check = requireInspectionCheck(name);
  const w = withValue ?? {};
  assertWith(check, w);
  const target = typeof host === 'string' ? { name: host } : host;
  const thresholds = resolveThresholds(check, w, target.vars ?? {}, target.varOrigins ?? {});
  const text = typeof output === 'string' ? output : Buffer.from(output).toString('utf8');
  const result = safeParse(check, text, w);
  const ctx = { host: target.name, check: check.name, with: w, thresholds };
  if (!result.ok) {
    return [
      {
        host: target.name,
        check: check.name,
        status: 'unknown',
        value: null,
        threshold: null,
        message: result.reason,
      },
    ];
  }
  return check.evaluate(result.data, ctx);
}

/** Parsers do not throw on any input (tests hold them to it); a bug still must not stop the run. */
function safeParse(check: InspectionCheck, output: string, w: unknown): Parsed<unknown> {
  try {
    return check.parse(output, w);
  } catch (e) {
    return {
      ok: false,
      reason: `the ${check.name} parser failed on this output (${(e as Error).message}); please report it`,
    };
  }
}
