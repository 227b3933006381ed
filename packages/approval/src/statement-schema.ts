/**
 * The Approval statement (DESIGN §4), draft 2020-12: the one source of truth for its shape.
 * Every object is closed so that nothing a signer did not see can ride along in the payload.
 */

const identifier = { type: 'string', pattern: '^[a-z][a-z0-9-]*$', maxLength: 64 } as const;
const sha256Digest = { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' } as const;
/** RFC 3339 in UTC with a `Z`, so that every reader compares the same instant. */
const timestamp = {
  type: 'string',
  pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,3})?Z$',
} as const;
const paramName = { pattern: '^[a-z][a-z0-9_]*$', maxLength: 64 } as const;
/** A person as the tracker and the trust store know them: an approver id or a Jira account. */
const person = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[^\\s]+$' } as const;

export const approvalStatementSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://opsbook.dev/schemas/approval-statement.json',
  title: 'opsbook Approval statement',
  type: 'object',
  additionalProperties: false,
  required: [
    'apiVersion',
    'kind',
    'id',
    'ticket',
    'runbook',
    'params',
    'secretParams',
    'targets',
    'category',
    'grade',
    'notBefore',
    'expiresAt',
    'maxRuns',
  ],
  properties: {
    apiVersion: { const: 'opsbook/v1' },
    kind: { const: 'Approval' },
    /** Random and unique: the run ledger counts runs against maxRuns by this id. */
    id: { type: 'string', pattern: '^[A-Za-z0-9_-]{16,64}$' },
    ticket: { type: 'string', pattern: '^[A-Z][A-Z0-9_]*-[0-9]+$', maxLength: 64 },
    runbook: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'version', 'digest'],
      properties: {
        name: identifier,
        version: {
          type: 'string',
          pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$',
          maxLength: 64,
        },
        digest: sha256Digest,
      },
    },
    params: {
      type: 'object',
      propertyNames: paramName,
      additionalProperties: { type: ['string', 'number', 'boolean'] },
    },
    secretParams: {
      type: 'array',
      uniqueItems: true,
      items: { type: 'string', ...paramName },
    },
    targets: {
      oneOf: [
        {
          type: 'object',
          additionalProperties: false,
          required: ['hosts'],
          properties: {
            hosts: {
              type: 'array',
              minItems: 1,
              maxItems: 10000,
              uniqueItems: true,
              items: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[^\\s]+$' },
            },
          },
        },
        {
          type: 'object',
          additionalProperties: false,
          required: ['selector'],
          properties: { selector: { type: 'string', minLength: 1, maxLength: 1024 } },
        },
      ],
    },
    category: { enum: ['routine', 'incident', 'change'] },
    grade: { enum: ['P1', 'P2', 'P3', 'P4'] },
    notBefore: timestamp,
    expiresAt: timestamp,
    maxRuns: { type: 'integer', minimum: 1, maximum: 100000 },
    executor: person,
    proposer: person,
    plan: {
      type: 'object',
      additionalProperties: false,
      required: ['digest'],
      properties: { digest: sha256Digest },
    },
  },
} as const;
