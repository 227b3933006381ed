import type { FromSchema, JSONSchema } from 'json-schema-to-ts';
import type { Finding, FindingStatus } from './finding.js';
import { checkWithSchema } from './with-schema-fragments.js';

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
export type CheckWith<S> = S extends JSONSchema
  ? FromSchema<S, { keepDefaultedPropertiesOptional: true }>
  : never;

/** A check's own `with:` keys: `required`, `properties` and `oneOf`, as its schema lists them. */
export interface WithParts {
  readonly required?: readonly string[];
  readonly properties?: { readonly [key: string]: JSONSchema };
  readonly oneOf?: readonly JSONSchema[];
}

/** Limits a check is graded against: the schema of its `thresholds`, a pair that must not cross. */
export interface CheckLimits {
  readonly schema: JSONSchema & object;
  readonly pair?: ThresholdPair;
}

type Flat<T> = { [K in keyof T]: T[K] };
type ThresholdsOf<L> = L extends { readonly schema: infer S }
  ? { readonly thresholds: S }
  : Record<never, never>;

/** The `with:` schema of a check: its own keys, and `thresholds` from its limits. */
export type WithSchemaOf<P extends WithParts, L> = Flat<
  ReturnType<
    typeof checkWithSchema<
      Flat<Omit<P, 'properties'> & { readonly properties: Flat<P['properties'] & ThresholdsOf<L>> }>
    >
  >
>;

/** What a check is: its name, its description, its own `with:` keys and its limits. */
export interface CheckDeclaration<P extends WithParts, L extends CheckLimits | undefined> {
  name: string;
  description: string;
  /** The check's own `with:` keys; `thresholds` comes from `limits`. */
  with?: P;
  /** What the evaluation grades against (warnCritLimits, namedLimits): each limit named once. */
  limits?: L;
}

/**
 * What a check does with its `with:` value `W`: the evaluation is handed the declared limits `L`
 * to grade with. Most checks find one thing: one finding will do.
 */
export interface CheckBehaviour<W, D, L> {
  collect(withValue: W): string;
  parse(output: string, withValue: W): Parsed<D>;
  evaluate(data: D, ctx: EvaluateContext<W>, limits: L): Finding | Finding[];
}

/** A declared check, waiting for its behaviour; its `with:` schema `S` types the `with:` value. */
export type DeclaredCheck<S, L> = <D>(
  behaviour: CheckBehaviour<CheckWith<S>, D, L>,
) => InspectionCheck<CheckWith<S>, D>;

/**
 * Declare a check, then give it its behaviour: `defineCheck({name, description, with, limits})`
 * `({collect, parse, evaluate})`. The `with:` schema is the check's own keys and the `thresholds`
 * of its limits, and the `with:` value's type is derived from that schema, so a limit is named
 * once: in `limits`, from where it reaches the schema, the refusal of crossed limits and the
 * grading (`evaluate` is handed the limits). The type is fixed by the first call: inferring it
 * in the same call as the behaviour is too deep for the compiler.
 */
export function defineCheck<
  const P extends WithParts = Record<never, never>,
  const L extends CheckLimits | undefined = undefined,
>({
  with: parts,
  limits,
  ...declared
}: CheckDeclaration<P, L>): DeclaredCheck<WithSchemaOf<P, L>, L> {
  const properties = { ...parts?.properties, ...(limits && { thresholds: limits.schema }) };
  const withSchema = checkWithSchema({ ...parts, properties });
  const thresholdPairs = limits?.pair ? [limits.pair] : [];
  const define = (
    behaviour: CheckBehaviour<never, unknown, L>,
  ): InspectionCheck<never, unknown> => ({
    ...declared,
    withSchema,
    thresholdPairs,
    ...behaviour,
    evaluate: (data, ctx) => [behaviour.evaluate(data, ctx, limits as L)].flat(),
  });
  return define as unknown as DeclaredCheck<WithSchemaOf<P, L>, L>;
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
