/**
 * The Approval statement (README: Formats), draft 2020-12: the one source of truth for its shape.
 * Every object is closed so that nothing a signer did not see can ride along in the payload.
 */

import {
  apiVersion,
  closedObject,
  documentSchema,
  identifier,
  runbookCategory,
  runbookGrade,
} from '@opsbook/schema';
import {
  hostName,
  person,
  sha256Digest,
  statementId,
  ticketKey,
  timestamp,
} from './statement-fragments.js';

const paramName = { pattern: '^[a-z][a-z0-9_]*$', maxLength: 64 } as const;

const runbookVersion = {
  type: 'string',
  pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$',
  maxLength: 64,
} as const;

/**
 * A runbook another one composes (`uses: runbook:NAME@RANGE`), at the version its range resolved
 * to when the plan was made: `step` is the path of composing step ids from the approved runbook
 * (`tidy`, `tidy/rotate`), so that each bundle is bound to the place it runs in.
 */
const composedRunbook = closedObject({
  step: {
    type: 'string',
    pattern: '^[a-z][a-z0-9-]*(/[a-z][a-z0-9-]*)*$',
    maxLength: 512,
  },
  name: identifier,
  version: runbookVersion,
  digest: sha256Digest,
});

/** A workflow status name, as the tracker spells it (Jira allows 255 characters). */
const statusName = { type: 'string', minLength: 1, maxLength: 255 } as const;

/**
 * The tracker the run is tied to, as the planner's opsbook.yaml and environment named it: the
 * runner's must be the same one, so that the ticket it checks and claims its run on is the
 * ticket the senior approved on, shared with every other runner (Jira) — never one the runner's
 * own configuration made up. `statuses` are the two the run gate accepts.
 */
const trackerBinding = closedObject(
  {
    kind: { enum: ['jira', 'local'] },
    /** Jira's base URL (no trailing slash), or `local` for the embedded tracker. */
    site: { type: 'string', minLength: 1, maxLength: 2048 },
    statuses: closedObject({ approved: statusName, inProgress: statusName }),
    /**
     * Who may read the comments its runs post (`tracker.jira.commentVisibility`), when the plan's
     * opsbook.yaml restricts them: a runner whose configuration restricts them otherwise, or not
     * at all, is refused, so run output meant for one role cannot be posted for everyone.
     */
    commentVisibility: closedObject(
      {
        type: { enum: ['role', 'group'] },
        value: { type: 'string', minLength: 1, maxLength: 255 },
        identifier: { type: 'string', minLength: 1, maxLength: 255 },
      },
      ['identifier'],
    ),
  },
  ['commentVisibility'],
);

/** The most runs one approval may allow (`maxRuns`). */
export const MAX_RUNS = 100_000;

export const approvalStatementSchema = documentSchema(
  'approval-statement',
  'opsbook Approval statement',
  {
    apiVersion,
    kind: { const: 'Approval' },
    /** Random and unique: the run ledger counts runs against maxRuns by this id. */
    id: statementId,
    ticket: ticketKey,
    runbook: closedObject({ name: identifier, version: runbookVersion, digest: sha256Digest }),
    /** Every runbook the approved one composes, recursively, in the order they run. */
    composed: { type: 'array', minItems: 1, maxItems: 256, items: composedRunbook },
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
        closedObject({
          hosts: {
            type: 'array',
            minItems: 1,
            maxItems: 10000,
            uniqueItems: true,
            items: hostName,
          },
        }),
        closedObject({ selector: { type: 'string', minLength: 1, maxLength: 1024 } }),
      ],
    },
    category: runbookCategory,
    grade: runbookGrade,
    notBefore: timestamp,
    expiresAt: timestamp,
    maxRuns: { type: 'integer', minimum: 1, maximum: MAX_RUNS },
    executor: person,
    proposer: person,
    plan: closedObject({ digest: sha256Digest }),
    tracker: trackerBinding,
  },
  ['composed', 'executor', 'proposer', 'plan', 'tracker'],
);
