import type { Finding, FindingStatus } from './finding.js';
import {
  type EvaluateContext,
  limit,
  makeFinding,
  type ThresholdPair,
} from './inspection-check.js';
import { count, percent, thresholdsSchema } from './with-schema-fragments.js';

/** What a graded finding says besides its grade: the unit comes from the limits. */
export interface MeasuredFields {
  subject?: string;
  value: number;
  message: string;
}

/**
 * A check's warn/crit limits, named once: `warn_<name>` and `crit_<name>`. The check's `with:`
 * schema takes `schema` as its `thresholds`, `resolveThresholds` refuses crossed limits through
 * `pair`, and the evaluation grades through `finding`: the names cannot drift apart.
 */
export interface WarnCritLimits<N extends string = string, F extends object = object> {
  readonly pair: ThresholdPair;
  readonly schema: ReturnType<typeof thresholdsSchema<{ readonly [K in LimitName<N>]: F }>>;
  warn(ctx: EvaluateContext<unknown>): number;
  crit(ctx: EvaluateContext<unknown>): number;
  /** The finding of a measured value, graded against the limits. */
  finding(ctx: EvaluateContext<unknown>, fields: MeasuredFields): Finding;
  /** A `crit` finding at the crit limit, for what is worse than any value (no backup at all). */
  critFinding(
    ctx: EvaluateContext<unknown>,
    fields: Omit<MeasuredFields, 'value'> & { value: number | null },
  ): Finding;
}

type Grade = { status: FindingStatus; threshold: number };

type LimitName<N extends string> = `warn_${N}` | `crit_${N}`;

export interface WarnCritSpec<N extends string, F extends object> {
  /** `pct` names the limits `warn_pct` and `crit_pct`. */
  name: N;
  /** The direction in which a value gets worse: `above` for usage, `below` for days left. */
  worse: 'above' | 'below';
  /** Unit of the measured value in findings: `%`, `count`, `ms`, … */
  unit: string;
  /** The schemas of the two limits, with their defaults and descriptions. */
  warn: F;
  crit: F;
}

export function warnCritLimits<const N extends string, const F extends object>(
  spec: WarnCritSpec<N, F>,
): WarnCritLimits<N, F> {
  const pair: ThresholdPair = {
    warn: `warn_${spec.name}`,
    crit: `crit_${spec.name}`,
    worse: spec.worse,
  };
  const properties = { [pair.warn]: spec.warn, [pair.crit]: spec.crit } as {
    readonly [K in LimitName<N>]: F;
  };
  const grade = spec.worse === 'above' ? gradeAbove : gradeBelow;
  const limits: WarnCritLimits<N, F> = {
    pair,
    schema: thresholdsSchema(properties),
    warn: (ctx) => limit(ctx, pair.warn),
    crit: (ctx) => limit(ctx, pair.crit),
    finding: (ctx, fields) =>
      makeFinding(ctx, {
        ...fields,
        ...grade(fields.value, limits.warn(ctx), limits.crit(ctx)),
        unit: spec.unit,
      }),
    critFinding: (ctx, fields) =>
      makeFinding(ctx, { ...fields, status: 'crit', threshold: limits.crit(ctx), unit: spec.unit }),
  };
  return limits;
}

/**
 * The schemas of a warn and a crit limit that mean the same but for the level: `warn <means>`
 * and `crit <means>`, each with its default. `fragment` is `count`, `percent`, `nonNegative`, ….
 */
export const warnAndCrit = <F>(
  fragment: (dflt: number, description: string) => F,
  warn: number,
  crit: number,
  means: string,
) => ({ warn: fragment(warn, `warn ${means}`), crit: fragment(crit, `crit ${means}`) });

/** Limits on how many of something there are: `warn_count`, `crit_count`, graded at or above. */
export const countLimits = (what: string, warn: number, crit: number) =>
  warnCritLimits({
    name: 'count',
    worse: 'above',
    unit: 'count',
    ...warnAndCrit(count, warn, crit, `at or above this many ${what}`),
  });

/** Limits on a share in use (`space use`): `warn_pct`, `crit_pct`, graded at or above. */
export const percentLimits = (what: string, warn: number, crit: number) =>
  warnCritLimits({
    name: 'pct',
    worse: 'above',
    unit: '%',
    ...warnAndCrit(percent, warn, crit, `at or above this ${what}, in percent`),
  });

/**
 * Limits that are not a warn/crit pair (a process count's minimum and maximum): the schema's keys
 * type what the evaluation reads, so the two cannot drift apart.
 */
export function namedLimits<const P extends Record<string, object>>(properties: P) {
  return {
    schema: thresholdsSchema(properties),
    read: (ctx: EvaluateContext<unknown>) =>
      Object.fromEntries(Object.keys(properties).map((name) => [name, limit(ctx, name)])) as Record<
        keyof P,
        number
      >,
  };
}

/** Grade a value that gets worse as it grows (usage, counts): crit wins over warn. */
function gradeAbove(value: number, warn: number, crit: number): Grade {
  if (value >= crit) return { status: 'crit', threshold: crit };
  if (value >= warn) return { status: 'warn', threshold: warn };
  return { status: 'ok', threshold: warn };
}

/** Grade a value that gets worse as it shrinks (days left, processes running). */
function gradeBelow(value: number, warn: number, crit: number): Grade {
  if (value <= crit) return { status: 'crit', threshold: crit };
  if (value <= warn) return { status: 'warn', threshold: warn };
  return { status: 'ok', threshold: warn };
}
