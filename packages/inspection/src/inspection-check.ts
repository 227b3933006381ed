import type { FromSchema, JSONSchema } from 'json-schema-to-ts';
import type { Finding, FindingStatus } from './finding.js';
import type { WarnCritLimits } from './warn-crit-limits.js';

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
 * The type of a check's `with:` value, derived from its schema. Validation fills in no defaults,
 * so a defaulted key may be absent.
 */
export type CheckWith<S extends JSONSchema> = FromSchema<
  S,
  { keepDefaultedPropertiesOptional: true }
>;

/**
 * Declare a check. `W` is `CheckWith<typeof xWithSchema>`, given explicitly because inferring it
 * through the schema is too deep for the compiler; the data type `D` is inferred from the parser.
 * A check graded against a warn/crit pair names it in `limits`, whose `schema` its `with:` schema
 * holds under `thresholds`; other pairs of limits that must not cross go in `thresholdPairs`.
 */
export function defineCheck<W>() {
  return <D>({
    limits,
    thresholdPairs = [],
    ...check
  }: {
    name: string;
    description: string;
    withSchema: JSONSchema & object;
    limits?: Pick<WarnCritLimits, 'pair'>;
    thresholdPairs?: readonly ThresholdPair[];
    collect(withValue: W): string;
    parse(output: string, withValue: W): Parsed<D>;
    evaluate(data: D, ctx: EvaluateContext<W>): Finding[];
  }): InspectionCheck<W, D> => ({
    thresholdPairs: limits ? [...thresholdPairs, limits.pair] : thresholdPairs,
    ...check,
  });
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

/** Read a resolved threshold that the check's schema declares (resolveThresholds fills all). */
export function limit(ctx: EvaluateContext<unknown>, name: string): number {
  const v = ctx.thresholds[name];
  if (v === undefined) throw new Error(`${ctx.check}: threshold ${name} was not resolved`);
  return v;
}
