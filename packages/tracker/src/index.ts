export {
  type Block,
  type Doc,
  docText,
  hasText,
  type Inline,
  isSafeHref,
  linkOrText,
  textDoc,
} from './document.js';
export { type TrackerErrorCode, trackerErrorCodes } from './error-codes.js';
export { createJiraTracker, JiraTracker } from './jira-client.js';
export {
  type CommentVisibility,
  connectJira,
  type JiraConnection,
  type JiraEnv,
  type JiraFlavour,
  type JiraPriority,
  type JiraSettings,
  jiraSite,
  sameVisibility,
  visibilityText,
} from './jira-connection.js';
export { jqlString, searchWords } from './jira-fields.js';
export { type HttpEffects, JiraHttp, type JiraHttpOptions } from './jira-http.js';
export type { Assignee, SetupCheck } from './jira-setup-check.js';
export {
  type HistoryEntry,
  type LocalTicket,
  LocalTracker,
  type LocalTrackerOptions,
} from './local-tracker.js';
export {
  type DamagedOutboxEntry,
  type Delivery,
  type FlushReport,
  Outbox,
  type OutboxContents,
  type OutboxEntry,
  type OutboxOptions,
  type OutboxWrite,
  type SendResult,
} from './outbox.js';
export { type AdfNode, renderAdf } from './render-adf.js';
export { renderWiki } from './render-wiki.js';
export {
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  type RetryPolicy,
  retryDelay,
} from './retry-policy.js';
export {
  type Attachment,
  type CommentReadOptions,
  DEFAULT_STATUSES,
  DELIVERY_PROPERTY,
  type DeliveryProbe,
  type FileToAttach,
  type Grade,
  type NewTicket,
  type Person,
  type PriorityOptions,
  type ReadOptions,
  type RemoteLink,
  resolveStatuses,
  roleCategory,
  type SearchOptions,
  type StatusCategory,
  type StatusNames,
  type StatusRole,
  type Ticket,
  type TicketComment,
  type TicketRef,
  type TicketWrite,
  type Tracker,
  type Transition,
  WORKFLOW,
  type WriteOptions,
} from './tracker.js';
