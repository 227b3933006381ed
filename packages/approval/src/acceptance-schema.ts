/**
 * The Acceptance statement (issue 5; docs/working-with-jira.md, For seniors): a senior's signed
 * word that a finished run was re-verified (intact journal, post-checks passed) and the ticket may
 * close. Draft 2020-12, closed objects, the one source of truth for its shape.
 */

import { apiVersion, closedObject, documentSchema } from '@opsbook/schema';
import {
  person,
  runId,
  sha256Digest,
  statementId,
  ticketKey,
  timestamp,
} from './statement-fragments.js';

export const acceptanceStatementSchema = documentSchema(
  'acceptance-statement',
  'opsbook Acceptance statement',
  {
    apiVersion,
    kind: { const: 'Acceptance' },
    id: statementId,
    ticket: ticketKey,
    /** The approval the accepted run was made under. */
    approvalId: statementId,
    run: closedObject(
      {
        id: runId,
        status: { const: 'ok' },
        /** Hash of the journal's last event: the acceptance covers exactly that journal. */
        journalHead: sha256Digest,
        journalEvents: { type: 'integer', minimum: 1 },
        /**
         * Present when the ticket did not hear the run's end from its runner (`ticket report`
         * wrote it later, from a journal the runner machine's user can edit) and the verifier
         * accepted it all the same (`ticket accept --accept-late-report`), having checked the
         * hosts themselves.
         */
        endReportedBy: { enum: ['ticket report', 'unknown'] },
      },
      ['endReportedBy'],
    ),
    postchecks: closedObject({ passed: { type: 'integer', minimum: 0 }, failed: { const: 0 } }),
    proposer: person,
    approvers: { type: 'array', minItems: 1, uniqueItems: true, items: person },
    verifier: person,
    acceptedAt: timestamp,
  },
);
