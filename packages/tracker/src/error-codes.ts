import { type ErrorCodeOf, type ErrorKind, errorCodeList, errorsFor } from '@opsbook/schema';

/** The stable codes of the trackers and the outbox (tools match on them). */
export const trackerErrorCodes = errorCodeList({
  unreachable: {
    TRACKER_AUTH_REJECTED: 'Jira answered 401: a wrong, expired or revoked token',
    TRACKER_FORBIDDEN: 'Jira answered 403: the account lacks the permission the message names',
    TRACKER_PROJECT_UNKNOWN: 'Jira refused to create an issue because of the project',
    TRACKER_NOT_FOUND: 'Jira answered 404 outside a ticket: a wrong base URL or flavour',
    TRACKER_NOT_JIRA:
      "a success that is not JSON, or a redirect: a proxy or sign-in page, not Jira's REST API, answered",
    TRACKER_API_REMOVED:
      'Jira answered 410: the API is gone for this flavour (cloud or datacenter)',
    TRACKER_RATE_LIMITED: 'Jira kept answering 429 after the retries (`details.retryable: true`)',
    TRACKER_UNAVAILABLE: 'Jira failed with 5xx after the retries (`details.retryable: true`)',
    TRACKER_TIMEOUT: 'Jira did not answer in time (`details.retryable: true`)',
    TRACKER_UNREACHABLE: 'no connection to Jira: refused, reset or DNS (`details.retryable: true`)',
    TRACKER_ANSWER_INCOMPLETE:
      'Jira answered a page of comments or of search results without the list itself, or an issue without its attachments: nothing is taken for absent, writes wait in the outbox (`details.retryable: true`)',
    TRACKER_BUSY: 'the local tracker could not claim a new ticket number',
    OUTBOX_BUSY: 'the outbox could not queue a write',
    OUTBOX_QUEUED: 'a write waits behind earlier ones in the outbox: run opsbook outbox flush',
  },
  refused: {
    TRACKER_TICKET_NOT_FOUND:
      'no such ticket visible to the account (404), or no such local ticket',
    TRACKER_ATTACHMENT_NOT_FOUND: 'the local ticket has no such attachment',
    TICKET_TRANSITION_UNAVAILABLE:
      "the workflow does not offer the move from the ticket's current status",
    TRACKER_PRIORITY_UNKNOWN:
      "the project's priority scheme lacks the priority of the grade: set tracker.jira.priorities",
    TRACKER_PRIORITY_NOT_ON_SCREEN:
      "the project's create or edit screen has no Priority field: a Jira admin adds it",
    TRACKER_REQUEST_REJECTED: "Jira rejected the request with another 4xx, in Jira's own words",
    TRACKER_CREATE_UNCONFIRMED:
      "Jira answered a create with success but without the issue's key or id: the ticket may exist; look for it before creating again",
    OUTBOX_ENTRY_PENDING:
      'outbox drop of a write the tracker did not refuse: it is still to be delivered (opsbook outbox flush)',
    TRACKER_DELIVERY_UNCERTAIN:
      'a comment the outbox sent before may be among the older comments of a ticket past 5,000 that opsbook does not read: look on the ticket, then drop the entry or --retry-failed',
    OUTBOX_VISIBILITY_MISMATCH:
      'a queued comment was restricted (tracker.jira.commentVisibility) otherwise than the flushing configuration restricts comments: it is not sent; flush with the opsbook.yaml that queued it',
    TRACKER_PROPERTY_INCOMPLETE:
      "a ticket property kept in parts (past Jira's 32 KB) has a part missing or changed, or Jira answered a property without its value or the list of properties without their keys",
  },
  invalid: {
    TRACKER_COMMENT_EMPTY:
      'a comment with no text: Jira refuses an empty comment (400), so it is neither sent nor queued',
    TRACKER_STATE_INVALID:
      'a local ticket, outbox entry or keys.json in the state dir is damaged (file:line:col)',
  },
});

export type TrackerErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<
  typeof trackerErrorCodes,
  K
>;

/** @opsbook/schema's error classes, taking only the codes above. */
export const trackerErrors = errorsFor(trackerErrorCodes);

/** A comment with no text (`hasText`): Jira answers 400 to an empty or blank body. */
export function emptyComment(ticket: string, outcome: string) {
  return new trackerErrors.OpsbookError(
    'invalid',
    'TRACKER_COMMENT_EMPTY',
    `the comment on ${ticket} has no text, and Jira refuses an empty comment (400): ${outcome}. Give the comment some text.`,
    { ticket },
  );
}
