/**
 * The RunClaim statement (README: Run claims; issue 14 item 2): the executor's own signed word that
 * they start this run of this approval on these hosts. Draft 2020-12, closed objects, the one
 * source of truth for its shape.
 */

import { apiVersion, documentSchema } from '@opsbook/schema';
import {
  hostName,
  person,
  runId,
  sha256Digest,
  statementId,
  ticketKey,
} from './statement-fragments.js';

export const RUN_CLAIM_PAYLOAD_TYPE = 'application/vnd.opsbook.run-claim+json';
/** Its own SSHSIG namespace: a run claim never passes as an approval or an acceptance, or back. */
export const RUN_CLAIM_NAMESPACE = 'opsbook-run';

/** Whole seconds only, as formatInstant writes them (the statements' timestamp also takes a fraction). */
const timestamp = {
  type: 'string',
  pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$',
} as const;

export const runClaimSchema = documentSchema('run-claim', 'opsbook RunClaim statement', {
  apiVersion,
  kind: { const: 'RunClaim' },
  /** The approval statement's id, and the sha256 of its exact payload bytes. */
  approvalId: statementId,
  approvalDigest: sha256Digest,
  ticket: ticketKey,
  runId,
  /** The hosts this run touches, in plan order. */
  hosts: {
    type: 'array',
    maxItems: 100000,
    items: hostName,
  },
  /** The trust store id of the person whose key signed the claim. */
  executor: person,
  claimedAt: timestamp,
});
