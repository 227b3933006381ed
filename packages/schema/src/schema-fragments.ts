/**
 * Pieces the JSON Schemas of every package are built from, so that a closed object, a document's
 * head or a runbook's grade is written once. Each returns plain draft 2020-12 schema, typed
 * `as const` so that json-schema-to-ts derives the same types as from a literal.
 */

/** Names of `P`'s properties but the optional ones: what a closed object requires. */
type RequiredOf<P, O> = Exclude<keyof P & string, O>;

/**
 * A closed object (`additionalProperties: false`, so that a typo is an error, never a silently
 * ignored key) whose properties are all required but the `optional` ones, in the properties' order.
 */
export function closedObject<
  const P extends Record<string, unknown>,
  const O extends keyof P & string = never,
>(properties: P, optional: readonly O[] = []) {
  const required = Object.keys(properties).filter((k) => !optional.includes(k as O));
  return {
    type: 'object',
    additionalProperties: false,
    required: required as RequiredOf<P, O>[],
    properties,
  } as const;
}

/**
 * A document schema: draft 2020-12 with its `$id` (`https://opsbook.dev/schemas/<name>.json`) and
 * title, a closed object as closedObject makes it.
 */
export function documentSchema<
  const N extends string,
  const T extends string,
  const P extends Record<string, unknown>,
  const O extends keyof P & string = never,
>(name: N, title: T, properties: P, optional: readonly O[] = []) {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `https://opsbook.dev/schemas/${name}.json`,
    title,
    ...closedObject(properties, optional),
  } as const;
}

/** The `apiVersion` of every opsbook document. */
export const apiVersion = { const: 'opsbook/v1' } as const;

/** A runbook's name or a step's id: lower case, digits and dashes. */
export const identifier = { type: 'string', pattern: '^[a-z][a-z0-9-]*$', maxLength: 64 } as const;

/** A runbook's category, which its approval and plan repeat. */
export const runbookCategory = { enum: ['routine', 'incident', 'change'] } as const;

/** A runbook's grade, P1 (highest) to P4, which its approval and plan repeat. */
export const runbookGrade = { enum: ['P1', 'P2', 'P3', 'P4'] } as const;

/** How long a step or a request may take: `durationPattern(['ms', 's', 'm', 'h'])`. */
export const timeoutDuration = { type: 'string', pattern: '^[1-9][0-9]*(ms|s|m|h)$' } as const;
