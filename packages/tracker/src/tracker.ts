import type { Doc } from './document.js';
import type { CommentVisibility } from './jira-connection.js';

/**
 * Logical ticket states (README: For seniors: the workflow); each maps to a configurable status
 * name.
 */
export type StatusRole =
  | 'open'
  | 'awaitingApproval'
  | 'approved'
  | 'inProgress'
  | 'review'
  | 'done';

export type StatusNames = Record<StatusRole, string>;

export const DEFAULT_STATUSES: StatusNames = {
  open: 'Open',
  awaitingApproval: 'Awaiting Approval',
  approved: 'Approved',
  inProgress: 'In Progress',
  review: 'In Review',
  done: 'Done',
};

/** The configured names over the defaults (`tracker.jira.statuses` in opsbook.yaml). */
export function resolveStatuses(configured: Partial<StatusNames> = {}): StatusNames {
  const names = { ...DEFAULT_STATUSES };
  for (const role of Object.keys(names) as StatusRole[]) {
    const name = configured[role];
    if (name !== undefined && name.trim() !== '') names[role] = name;
  }
  return names;
}

/** The workflow both the local tracker and the Jira fake implement: role → reachable roles. */
export const WORKFLOW: Readonly<Record<StatusRole, readonly StatusRole[]>> = {
  open: ['awaitingApproval'],
  awaitingApproval: ['approved', 'open'],
  approved: ['inProgress', 'open'],
  // Back to Open: a senior rejects a ticket whose run died before reporting its end.
  inProgress: ['review', 'open'],
  review: ['done', 'inProgress', 'open'],
  done: [],
};

/** The category of a workflow role's status (the local tracker's, and the Jira fake's). */
export function roleCategory(role: StatusRole): StatusCategory {
  if (role === 'done') return 'done';
  return role === 'open' || role === 'awaitingApproval' ? 'new' : 'indeterminate';
}

export type Grade = 'P1' | 'P2' | 'P3' | 'P4';

export interface NewTicket {
  summary: string;
  description?: Doc;
  labels?: string[];
  grade?: Grade;
  /** Jira issue type; "Task" when absent. */
  issueType?: string;
  /**
   * Who reports it (Cloud accountId, DC user name, local name) when that is not the account that
   * writes. Jira needs the Modify Reporter permission for it: without, the ticket is created with
   * the writing account as reporter (see `TicketRef.reporterSet`).
   */
  reporter?: string;
}

export interface TicketRef {
  key: string;
  /** Where a person opens the ticket (Jira browse URL, or the local file). */
  url: string;
  /** `false` when Jira refused the `reporter` asked for and the ticket was created without it. */
  reporterSet?: boolean;
  /**
   * Jira's refusal of the priority of `NewTicket.grade` when the ticket was created without one:
   * TRACKER_PRIORITY_UNKNOWN's message (naming the priority and `tracker.jira.priorities.<grade>`),
   * or TRACKER_PRIORITY_NOT_ON_SCREEN's (the create screen has no Priority field).
   */
  priorityRefused?: string;
}

export interface Person {
  /** Cloud accountId, Data Center user name, or the local actor name. */
  id: string;
  displayName?: string;
}

/** Jira's status categories (`statusCategory.key`): to do, in progress, done. */
export type StatusCategory = 'new' | 'indeterminate' | 'done';

export interface Ticket {
  key: string;
  summary: string;
  status: string;
  /**
   * The category of its status, whatever the status is named: `done` for a closed ticket (Done,
   * Resolved, Closed, …). Absent when the tracker did not say (a Jira answer without it).
   */
  statusCategory?: StatusCategory;
  assignee: Person | null;
  /** Who opened it, as the tracker records it (the writing account unless `NewTicket.reporter`). */
  reporter?: Person | null;
  labels: string[];
}

/** A comment as its readers see it: plain text, oldest first in a list. */
export interface TicketComment {
  id: string;
  /** Cloud accountId, Data Center user name, or the local actor name; null when Jira hides it. */
  author: string | null;
  created: string;
  /** The body as text (ADF and wiki markup reduced to their words, one block a line). */
  text: string;
}

export interface Transition {
  id: string;
  name: string;
  to: string;
}

export interface Attachment {
  id: string;
  filename: string;
  size: number;
}

export interface FileToAttach {
  filename: string;
  bytes: Uint8Array;
  contentType?: string;
}

export interface RemoteLink {
  /** Stable id that makes re-sending the same link an update, not a duplicate. */
  globalId: string;
  url: string;
  title: string;
  summary?: string;
}

export interface SearchOptions {
  /** Stop after this many tickets (default 100). */
  limit?: number | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * A write the outbox may have sent before without learning the outcome. The `deliveryId` is
 * recorded with the write itself (issue or comment property, local ticket file) so that
 * `findDelivered` can tell whether it already happened. `since` (ISO 8601) is when the write was
 * queued: it cannot have reached the tracker before, so a tracker that has to look through
 * tickets or comments for it looks at those made since then (give it where it is known).
 */
export type DeliveryProbe =
  | { kind: 'create'; deliveryId: string; summary: string; since?: string }
  | { kind: 'comment'; deliveryId: string; key: string; since?: string }
  | { kind: 'attach'; deliveryId: string; key: string; filename: string; size: number };

export interface WriteOptions {
  deliveryId?: string;
  signal?: AbortSignal | undefined;
}

export interface PriorityOptions extends WriteOptions {
  /**
   * The ticket's new summary, set in the same write (a re-graded incident's ticket names its
   * grade in its summary); cut to Jira's 255 characters as at create.
   */
  summary?: string;
}

export interface ReadOptions {
  signal?: AbortSignal | undefined;
}

export interface CommentReadOptions extends ReadOptions {
  /**
   * Called once when the ticket holds more comments than the tracker reads: how many older ones
   * were left out, or undefined when not all were read and how many is not known.
   */
  onLeftOut?: ((leftOut: number | undefined) => void) | undefined;
}

/** What opsbook needs from a ticket tracker. Implemented by Jira and the local tracker. */
export interface Tracker {
  readonly kind: 'jira' | 'local';
  /**
   * Which tracker this is, as an approval binds it (`tracker.site` of the statement): Jira's base
   * URL (no trailing slash), or `local` for the embedded tracker in the state dir.
   */
  readonly site: string;
  readonly statuses: StatusNames;
  /**
   * Who may read the comments it posts (`tracker.jira.commentVisibility`); undefined: everyone who
   * can see the ticket (and always for the local tracker).
   */
  readonly commentVisibility?: CommentVisibility | undefined;
  create(ticket: NewTicket, options?: WriteOptions): Promise<TicketRef>;
  get(key: string, options?: ReadOptions): Promise<Ticket>;
  /**
   * The ticket's description as text (ADF and wiki markup reduced to their words, one block a
   * line); '' when it has none. Read apart from `get`, which status checks call often.
   */
  description(key: string, options?: ReadOptions): Promise<string>;
  /** Posts a comment; its id is undefined where the tracker made it without saying which. */
  comment(key: string, body: Doc, options?: WriteOptions): Promise<{ id: string | undefined }>;
  /**
   * The ticket's comments, oldest first: on Jira, the newest 5,000 (`onLeftOut` hears how many
   * older ones were not read).
   */
  comments(key: string, options?: CommentReadOptions): Promise<TicketComment[]>;
  attach(key: string, file: FileToAttach, options?: WriteOptions): Promise<Attachment>;
  transitions(key: string, options?: ReadOptions): Promise<Transition[]>;
  /** Move the ticket to the status named `status`; a no-op when it is already there. */
  transition(key: string, status: string, options?: WriteOptions): Promise<void>;
  /**
   * Sets the ticket's priority to the one `grade` maps to, as `NewTicket.grade` does at create
   * (Jira: `tracker.jira.priorities`, by default Highest/High/Medium/Low; local: the grade).
   * Setting the priority it has is harmless, so a repeat after a lost answer changes nothing. Jira
   * refuses a priority the project's scheme lacks: TRACKER_PRIORITY_UNKNOWN (refused),
   * `details.fields` naming `priority`; a project whose edit screen has no Priority:
   * TRACKER_PRIORITY_NOT_ON_SCREEN. (A create goes without the priority instead:
   * `TicketRef.priorityRefused`.)
   */
  setPriority(key: string, grade: Grade, options?: PriorityOptions): Promise<void>;
  /** Assign to a Cloud accountId / DC user name / local name; `null` unassigns. */
  assign(key: string, assignee: string | null, options?: WriteOptions): Promise<void>;
  search(jql: string, options?: SearchOptions): Promise<Ticket[]>;
  getProperty(key: string, property: string, options?: ReadOptions): Promise<unknown | undefined>;
  setProperty(key: string, property: string, value: unknown, options?: WriteOptions): Promise<void>;
  /** The keys of the ticket's properties (Jira: GET …/properties). */
  propertyKeys(key: string, options?: ReadOptions): Promise<string[]>;
  /** Removes a property; a no-op when there is none. */
  deleteProperty(key: string, property: string, options?: WriteOptions): Promise<void>;
  addRemoteLink(key: string, link: RemoteLink, options?: WriteOptions): Promise<void>;
  remoteLinks(key: string, options?: ReadOptions): Promise<RemoteLink[]>;
  /** The key or id of an earlier delivery of this write, if it reached the tracker. */
  findDelivered(probe: DeliveryProbe, options?: ReadOptions): Promise<string | undefined>;
  /**
   * Several writes to one ticket at once, all or none (the local tracker: one fsynced file where
   * each write alone costs one). Each is applied once: a comment or attachment whose delivery id
   * the ticket holds already is not added again. Resolves with each write's comment or
   * attachment id (undefined for the others). Trackers without it get one call per write.
   */
  writeAll?(key: string, writes: readonly TicketWrite[]): Promise<(string | undefined)[]>;
  /**
   * The tracker's own clock: the time its last answer was dated (Jira: the HTTP `Date` header),
   * moved on by this process's monotonic clock since. Undefined before any answer, and for the
   * embedded tracker, whose clock is this machine's. A run checks its approval's validity window
   * against it too: the runner machine's clock is the engineer's to set. Jira after an answer
   * without a `Date` header (none before it dated) is undefined too, and a run then refused.
   */
  serverNow?(): Date | undefined;
}

/** One write of `Tracker.writeAll`, with the delivery id that makes it happen once. */
export type TicketWrite = { deliveryId: string } & (
  | { kind: 'comment'; body: Doc }
  | { kind: 'attach'; file: FileToAttach }
  | { kind: 'transition'; status: string }
  | { kind: 'assign'; assignee: string | null }
  | { kind: 'priority'; grade: Grade; summary?: string }
  | { kind: 'setProperty'; property: string; value: unknown }
  | { kind: 'remoteLink'; link: RemoteLink }
);

/** The property holding a write's delivery id (on issues created, and on comments). */
export const DELIVERY_PROPERTY = 'opsbook.delivery';
