import type { JSONSchema } from 'json-schema-to-ts';
import type { Finding, FindingStatus } from './finding.js';

export type { Finding } from './finding.js';

/** What a parser makes of a collector's output: data to evaluate, or why there is none. */
export type Parsed<D> = { ok: true; data: D } | { ok: false; reason: string };

/** Resolved limits of one check, by threshold name (`warn_pct`, `crit_days`, …). */
export type Thresholds = Readonly<Record<string, number>>;

export interface EvaluateContext<W> {
  host: string;
  /** The action name, `inspection.<check>`. */
  check: string;
  with: W;
  thresholds: Thresholds;
}

/** A warn/crit pair and the direction in which a value gets worse, to refuse crossed limits. */
export interface ThresholdPair {
  warn: string;
  crit: string;
  worse: 'above' | 'below';
}

/**
 * One inspection check: a read-only collector (POSIX sh text), a pure parser and an evaluation
 * against thresholds. The runner executes `collect(with)` on the host and hands the output
 * to `runCheck`; nothing here touches a host.
 */
export interface InspectionCheck<W = unknown, D = unknown> {
  readonly name: string;
  readonly description: string;
  /** JSON Schema (draft 2020-12) of the step's `with:`; thresholds sit under `thresholds`. */
  readonly withSchema: JSONSchema & object;
  readonly thresholdPairs: readonly ThresholdPair[];
  collect(withValue: W): string;
  parse(output: string, withValue: W): Parsed<D>;
  evaluate(data: D, ctx: EvaluateContext<W>): Finding[];
}

/**
 * Declare a check. `W` is the type derived from the check's own `with:` schema
 * (`FromSchema<typeof xWithSchema, { keepDefaultedPropertiesOptional: true }>`: validation fills
 * in no defaults, so a defaulted key may be absent), given explicitly because inferring it through the schema
 * is too deep for the compiler; the data type `D` is inferred from the parser.
 */
export function defineCheck<W>() {
  return <D>(check: {
    name: string;
    description: string;
    withSchema: JSONSchema & object;
    thresholdPairs?: readonly ThresholdPair[];
    collect(withValue: W): string;
    parse(output: string, withValue: W): Parsed<D>;
    evaluate(data: D, ctx: EvaluateContext<W>): Finding[];
  }): InspectionCheck<W, D> => ({ thresholdPairs: [], ...check });
}

export interface FindingFields {
  subject?: string;
  status: FindingStatus;
  value: Finding['value'];
  threshold?: number | null;
  unit?: string;
  message: string;
}

/** A finding of this host and check. */
export function makeFinding(ctx: EvaluateContext<unknown>, fields: FindingFields): Finding {
  const finding: Finding = {
    host: ctx.host,
    check: ctx.check,
    status: fields.status,
    value: fields.value,
    threshold: fields.threshold ?? null,
    message: fields.message,
  };
  if (fields.subject !== undefined) finding.subject = fields.subject;
  if (fields.unit !== undefined) finding.unit = fields.unit;
  return finding;
}

/** Grade a value that gets worse as it grows (usage, counts): crit wins over warn. */
export function gradeAbove(
  value: number,
  warn: number,
  crit: number,
): { status: FindingStatus; threshold: number } {
  if (value >= crit) return { status: 'crit', threshold: crit };
  if (value >= warn) return { status: 'warn', threshold: warn };
  return { status: 'ok', threshold: warn };
}

/** Grade a value that gets worse as it shrinks (days left, processes running). */
export function gradeBelow(
  value: number,
  warn: number,
  crit: number,
): { status: FindingStatus; threshold: number } {
  if (value <= crit) return { status: 'crit', threshold: crit };
  if (value <= warn) return { status: 'warn', threshold: warn };
  return { status: 'ok', threshold: warn };
}

/** Read a resolved threshold that the check's schema declares (resolveThresholds fills all). */
export function limit(ctx: EvaluateContext<unknown>, name: string): number {
  const v = ctx.thresholds[name];
  if (v === undefined) throw new Error(`${ctx.check}: threshold ${name} was not resolved`);
  return v;
}
