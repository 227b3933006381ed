import type { FromSchema } from 'json-schema-to-ts';

/**
 * A finding as the journal records it and the health report reads it: one JSON Schema is the
 * source of truth, the TypeScript type is derived from it.
 */
export const findingSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'opsbook inspection finding',
  type: 'object',
  additionalProperties: false,
  required: ['host', 'check', 'status', 'value', 'threshold', 'message'],
  properties: {
    host: { type: 'string' },
    /** The action name, e.g. `inspection.disk`. */
    check: { type: 'string', pattern: '^inspection\\.[a-z][a-z0-9-]*$' },
    /** What the finding is about when a check yields several: a mount point, a unit, a port. */
    subject: { type: 'string' },
    status: { enum: ['ok', 'warn', 'crit', 'unknown'] },
    /** The measured value; null when the check could not measure (status `unknown`). */
    value: { type: ['number', 'string', 'boolean', 'null'] },
    /** The limit the value was compared with: the one crossed, else the warning limit. */
    threshold: { type: ['number', 'null'] },
    /** Unit of `value` and `threshold`: `%`, `days`, `hours`, `ms`, `count`, `per-core`. */
    unit: { type: 'string' },
    message: { type: 'string' },
  },
} as const;

export type Finding = FromSchema<typeof findingSchema>;
export type FindingStatus = Finding['status'];

const severity: Record<FindingStatus, number> = { ok: 0, unknown: 1, warn: 2, crit: 3 };

/** Worst first, so that a report or a table leads with what needs attention. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      severity[b.status] - severity[a.status] ||
      a.host.localeCompare(b.host) ||
      a.check.localeCompare(b.check) ||
      (a.subject ?? '').localeCompare(b.subject ?? ''),
  );
}

/** The worst status of a set of findings; `ok` for none. */
export function worstStatus(findings: readonly Finding[]): FindingStatus {
  let worst: FindingStatus = 'ok';
  for (const f of findings) if (severity[f.status] > severity[worst]) worst = f.status;
  return worst;
}
