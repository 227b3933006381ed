/**
 * The RunClaim statement (DESIGN §11, issue 14 item 2): the executor's own signed word that they
 * start this run of this approval on these hosts. Draft 2020-12, closed objects, the one source of
 * truth for its shape.
 */

export const RUN_CLAIM_PAYLOAD_TYPE = 'application/vnd.opsbook.run-claim+json';
/** Its own SSHSIG namespace: a run claim never passes as an approval or an acceptance, or back. */
export const RUN_CLAIM_NAMESPACE = 'opsbook-run';

const sha256Digest = { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' } as const;
const timestamp = {
  type: 'string',
  pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$',
} as const;

export const runClaimSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://opsbook.dev/schemas/run-claim.json',
  title: 'opsbook RunClaim statement',
  type: 'object',
  additionalProperties: false,
  required: [
    'apiVersion',
    'kind',
    'approvalId',
    'approvalDigest',
    'ticket',
    'runId',
    'hosts',
    'executor',
    'claimedAt',
  ],
  properties: {
    apiVersion: { const: 'opsbook/v1' },
    kind: { const: 'RunClaim' },
    /** The approval statement's id, and the sha256 of its exact payload bytes. */
    approvalId: { type: 'string', pattern: '^[A-Za-z0-9_-]{16,64}$' },
    approvalDigest: sha256Digest,
    ticket: { type: 'string', pattern: '^[A-Z][A-Z0-9_]*-[0-9]+$', maxLength: 64 },
    runId: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$' },
    /** The hosts this run touches, in plan order. */
    hosts: {
      type: 'array',
      maxItems: 100000,
      items: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[^\\s]+$' },
    },
    /** The trust store id of the person whose key signed the claim. */
    executor: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[^\\s]+$' },
    claimedAt: timestamp,
  },
} as const;
