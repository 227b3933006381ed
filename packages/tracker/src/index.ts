export { type Block, type Doc, type Inline, docText, textDoc } from './document.js';
export { type AdfNode, renderAdf } from './render-adf.js';
export { renderWiki } from './render-wiki.js';
export {
  type Attachment,
  DEFAULT_STATUSES,
  DELIVERY_PROPERTY,
  type DeliveryProbe,
  type FileToAttach,
  type Grade,
  type NewTicket,
  type Person,
  type ReadOptions,
  type RemoteLink,
  type SearchOptions,
  type StatusNames,
  type StatusRole,
  type Ticket,
  type TicketRef,
  type Tracker,
  type Transition,
  WORKFLOW,
  type WriteOptions,
  resolveStatuses,
} from './tracker.js';
export { type JiraConnection, type JiraEnv, type JiraFlavour, type JiraSettings, connectJira } from './jira-connection.js';
export { type HttpEffects, JiraHttp, type JiraHttpOptions } from './jira-http.js';
export { JiraTracker, createJiraTracker } from './jira-client.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy, parseRetryAfter, retryDelay } from './retry-policy.js';
export { type HistoryEntry, type LocalTicket, LocalTracker, type LocalTrackerOptions } from './local-tracker.js';
export { type Delivery, type FlushReport, Outbox, type OutboxEntry, type OutboxOptions, type OutboxWrite, type SendResult } from './outbox.js';
