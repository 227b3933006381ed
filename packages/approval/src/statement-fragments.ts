/**
 * Pieces shared by the schemas of the signed statements (approval, acceptance, run claim) and the
 * files around them: an id, a ticket, a digest or a person means the same in each of them.
 */

/** An approval's or an acceptance's id: random, and what the run ledger counts runs by. */
export const statementId = { type: 'string', pattern: '^[A-Za-z0-9_-]{16,64}$' } as const;

/** A Jira issue key (`OPS-123`). */
export const ticketKey = {
  type: 'string',
  pattern: '^[A-Z][A-Z0-9_]*-[0-9]+$',
  maxLength: 64,
} as const;

export const runId = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$' } as const;

export const sha256Digest = { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' } as const;

/** RFC 3339 in UTC with a `Z`, so that every reader compares the same instant. */
export const timestamp = {
  type: 'string',
  pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,3})?Z$',
} as const;

/** A person as the tracker and the trust store know them: an approver id or a Jira account. */
export const person = {
  type: 'string',
  minLength: 1,
  maxLength: 128,
  pattern: '^[^\\s]+$',
} as const;

/** A host name as the plan lists it. */
export const hostName = {
  type: 'string',
  minLength: 1,
  maxLength: 255,
  pattern: '^[^\\s]+$',
} as const;

/** An SSH key fingerprint as `ssh-keygen -l` prints it. */
export const keyFingerprint = { type: 'string', pattern: '^SHA256:[A-Za-z0-9+/]{43}$' } as const;
