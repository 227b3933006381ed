import { type ErrorCodeEntry, type ErrorCodeOf, type ErrorKind, errorsFor } from '@opsbook/schema';

/** The stable codes of the trackers and the outbox (tools match on them). */
export const trackerErrorCodes = [
  {
    code: 'TRACKER_AUTH_REJECTED',
    kind: 'unreachable',
    meaning: 'Jira answered 401: a wrong, expired or revoked token',
  },
  {
    code: 'TRACKER_FORBIDDEN',
    kind: 'unreachable',
    meaning: 'Jira answered 403: the account lacks the permission the message names',
  },
  {
    code: 'TRACKER_TICKET_NOT_FOUND',
    kind: 'refused',
    meaning: 'no such ticket visible to the account (404), or no such local ticket',
  },
  {
    code: 'TRACKER_ATTACHMENT_NOT_FOUND',
    kind: 'refused',
    meaning: 'the local ticket has no such attachment',
  },
  {
    code: 'TRACKER_PROJECT_UNKNOWN',
    kind: 'unreachable',
    meaning: 'Jira refused to create an issue because of the project',
  },
  {
    code: 'TRACKER_NOT_FOUND',
    kind: 'unreachable',
    meaning: 'Jira answered 404 outside a ticket: a wrong base URL or flavour',
  },
  {
    code: 'TRACKER_API_REMOVED',
    kind: 'unreachable',
    meaning: 'Jira answered 410: the API is gone for this flavour (cloud or datacenter)',
  },
  {
    code: 'TRACKER_RATE_LIMITED',
    kind: 'unreachable',
    meaning: 'Jira kept answering 429 after the retries (`details.retryable: true`)',
  },
  {
    code: 'TRACKER_UNAVAILABLE',
    kind: 'unreachable',
    meaning: 'Jira failed with 5xx after the retries (`details.retryable: true`)',
  },
  {
    code: 'TRACKER_TIMEOUT',
    kind: 'unreachable',
    meaning: 'Jira did not answer in time (`details.retryable: true`)',
  },
  {
    code: 'TRACKER_UNREACHABLE',
    kind: 'unreachable',
    meaning: 'no connection to Jira: refused, reset or DNS (`details.retryable: true`)',
  },
  {
    code: 'TICKET_TRANSITION_UNAVAILABLE',
    kind: 'refused',
    meaning: "the workflow does not offer the move from the ticket's current status",
  },
  {
    code: 'TRACKER_REQUEST_REJECTED',
    kind: 'refused',
    meaning: "Jira rejected the request with another 4xx, in Jira's own words",
  },
  {
    code: 'TRACKER_BUSY',
    kind: 'unreachable',
    meaning: 'the local tracker could not claim a new ticket number',
  },
  { code: 'OUTBOX_BUSY', kind: 'unreachable', meaning: 'the outbox could not queue a write' },
  {
    code: 'OUTBOX_QUEUED',
    kind: 'unreachable',
    meaning: 'a write waits behind earlier ones in the outbox: run opsbook outbox flush',
  },
] as const satisfies readonly ErrorCodeEntry[];

export type TrackerErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<
  typeof trackerErrorCodes,
  K
>;

/** @opsbook/schema's error classes, taking only the codes above. */
export const trackerErrors = errorsFor(trackerErrorCodes);
