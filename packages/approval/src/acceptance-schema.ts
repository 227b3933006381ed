/**
 * The Acceptance statement (DESIGN §1, issue 5): a senior's signed word that a finished run was
 * re-verified (intact journal, post-checks passed) and the ticket may close. Draft 2020-12, closed
 * objects, the one source of truth for its shape.
 */

const sha256Digest = { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' } as const;
const timestamp = {
  type: 'string',
  pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,3})?Z$',
} as const;
const person = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[^\\s]+$' } as const;

export const acceptanceStatementSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://opsbook.dev/schemas/acceptance-statement.json',
  title: 'opsbook Acceptance statement',
  type: 'object',
  additionalProperties: false,
  required: [
    'apiVersion',
    'kind',
    'id',
    'ticket',
    'approvalId',
    'run',
    'postchecks',
    'proposer',
    'approvers',
    'verifier',
    'acceptedAt',
  ],
  properties: {
    apiVersion: { const: 'opsbook/v1' },
    kind: { const: 'Acceptance' },
    id: { type: 'string', pattern: '^[A-Za-z0-9_-]{16,64}$' },
    ticket: { type: 'string', pattern: '^[A-Z][A-Z0-9_]*-[0-9]+$', maxLength: 64 },
    /** The approval the accepted run was made under. */
    approvalId: { type: 'string', pattern: '^[A-Za-z0-9_-]{16,64}$' },
    run: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'status', 'journalHead', 'journalEvents'],
      properties: {
        id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$' },
        status: { const: 'ok' },
        /** Hash of the journal's last event: the acceptance covers exactly that journal. */
        journalHead: sha256Digest,
        journalEvents: { type: 'integer', minimum: 1 },
      },
    },
    postchecks: {
      type: 'object',
      additionalProperties: false,
      required: ['passed', 'failed'],
      properties: {
        passed: { type: 'integer', minimum: 0 },
        failed: { const: 0 },
      },
    },
    proposer: person,
    approvers: { type: 'array', minItems: 1, uniqueItems: true, items: person },
    verifier: person,
    acceptedAt: timestamp,
  },
} as const;
