/**
 * Pieces shared by the checks' `with:` schemas. Patterns are strict on purpose: every value is
 * shell-quoted anyway, and a narrow pattern also keeps a reviewer's reading of the runbook exact.
 */

export const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

export const absolutePath = {
  type: 'string',
  pattern: '^/[^\\u0000\\n]*$',
  maxLength: 4096,
  description: 'An absolute path on the host',
} as const;

/** A DNS name, an IPv4 address or a bracket-less IPv6 address. */
export const hostName = {
  type: 'string',
  pattern: '^[A-Za-z0-9]([A-Za-z0-9._:-]{0,252}[A-Za-z0-9])?$',
  description: 'A host name or IP address as seen from the inspected host',
} as const;

export const tcpPort = { type: 'integer', minimum: 1, maximum: 65535 } as const;

/** A systemd unit name (`nginx`, `nginx.service`, `getty@tty1.service`). */
export const unitName = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9:_.@\\\\-]{0,255}$',
  description: 'A systemd unit name',
} as const;

export const percent = (dflt: number, description: string) =>
  ({ type: 'number', minimum: 0, maximum: 100, default: dflt, description }) as const;

export const count = (dflt: number, description: string) =>
  ({ type: 'integer', minimum: 0, default: dflt, description }) as const;

/** A number of zero or more that need not be whole (a load per core). */
export const nonNegative = (dflt: number, description: string) =>
  ({ type: 'number', minimum: 0, default: dflt, description }) as const;

/**
 * A check's `with:` schema: draft 2020-12 and a closed object, as every check's must be (the
 * catalogue test holds them to it). `parts` gives `required`, `properties` and `oneOf`, in that order.
 */
export const checkWithSchema = <const P extends object>(parts: P) =>
  ({ $schema: DRAFT_2020_12, type: 'object', additionalProperties: false, ...parts }) as const;

/** The `thresholds` property of a `with:` schema: a closed object of named limits. */
export const thresholdsSchema = <const P extends object>(properties: P) =>
  ({ type: 'object', additionalProperties: false, properties }) as const;

/**
 * `with:` that takes exactly one of several forms (`url`, or `host` with `port`): `oneOf` over
 * `required`, the shape `withProblems` turns into "needs exactly one of: …".
 */
export const exactlyOneOf = <const F extends readonly (readonly string[])[]>(...forms: F) =>
  forms.map((keys) => ({
    required: keys,
    properties: Object.fromEntries(keys.map((k) => [k, true])),
  })) as unknown as {
    readonly [I in keyof F]: {
      readonly required: F[I];
      readonly properties: { readonly [K in F[I][number]]: true };
    };
  };
