import type { Doc } from '@opsbook/tracker';

export type Grade = 'P1' | 'P2' | 'P3' | 'P4';
export const grades: readonly Grade[] = ['P1', 'P2', 'P3', 'P4'];

/** The kind a senior's signed re-grade of an alert incident carries. */
export const REGRADE_KIND = 'alert-regrade';

/** One alert of an incident (by fingerprint), as the ticket shows it. */
export interface IncidentAlert {
  fingerprint: string;
  alertname: string;
  labels: Record<string, string>;
  /** The `summary` annotation, else `description`. */
  summary?: string;
  severity?: string;
  /** The inventory host (or the host label's value when the inventory does not know it). */
  host?: string;
  /**
   * `false`: the inventory does not know `host`, which is then the sender's label text (it may
   * be a group or `all` as a host pattern): never pasted into a command's `--target`.
   */
  isHostKnown?: false;
  service?: string;
  status: 'firing' | 'resolved';
  /** startsAt of its latest firing. */
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
  /** When opsbook first received it, and when it last changed. */
  firstSeen: string;
  lastChange: string;
  /** How many times it fired (more than once: it flaps; it never opened another incident). */
  fired: number;
  /** What the ticket last said of it; absent while the ticket has not shown it. */
  reported?: { status: 'firing' | 'resolved'; fired: number };
}

/** A person a senior's key proved (approvers.yaml), as the re-grade records them. */
export interface ProvenPerson {
  id: string;
  name: string;
  fingerprint: string;
  jira?: string;
}

/** A grade and why: by the rules of alerts.yaml, or by a senior (signed with their key). */
export interface GradeDecision {
  grade: Grade;
  reason: string;
  at: string;
  /**
   * A senior's re-grade says what it decides on, signed with it (`RegradeSubject`): absent from
   * the rules' grades, and from re-grades made before opsbook signed it (never proven).
   */
  kind?: typeof REGRADE_KIND;
  incident?: string;
  ticket?: string;
  from?: Grade;
  after?: string;
  /** The senior who re-graded; absent when the rules graded. */
  by?: ProvenPerson;
  /** The senior's SSHSIG over the decision without `proof` (namespace opsbook-ticket). */
  proof?: { keyid: string; sshsig: string };
}

/** The ticket of an incident, as far as it was made: what makes its dispatch happen once. */
export interface TicketDispatch {
  /** Recorded with the create on the tracker: a create that may have happened is found by it. */
  deliveryId: string;
  /** A create was sent (its outcome may be unknown): probe before sending again. */
  attempted: boolean;
  key?: string;
  url?: string;
  createdAt?: string;
  /** The summary the create was sent with: the probe for an earlier create searches by it. */
  summary?: string;
  /** The assignee was set on the ticket. */
  assigned?: boolean;
  /** Why the tracker refused the assignee (not retried: fix ownership in alerts.yaml). */
  assignError?: string;
  /** The grade the ticket last showed (its priority, or a comment since). */
  reportedGrade?: Grade;
  /** The grade the ticket's priority field is known to show (sent with the create, then set). */
  priority?: Grade;
  /**
   * Why the tracker refused the priority of this grade (e.g. the project's priority scheme lacks
   * the name): said on the ticket with the comment, not retried for this grade.
   */
  priorityError?: { grade: Grade; message: string; at: string };
  /** The last refusal of a write for this incident (retried on later passes). */
  lastError?: { code: string; message: string; at: string };
  /**
   * The ticket was found closed (its status in the tracker's `done` category) when something
   * was to be posted on it: the incident closed then, and its new alerts opened another.
   */
  closed?: { status: string; at: string };
}

/** The incident whose closed ticket an incident's first alerts would have joined. */
export interface IncidentPredecessor {
  incident: string;
  ticket: string;
  /** The ticket's status when it was found closed (`Done`, `Resolved`, …). */
  status: string;
}

/**
 * A comment for the ticket: new alerts or changes of one batch, a re-grade, or the commands that
 * propose the suggested runbooks (queued when the ticket's key is known).
 */
export interface CommentBatch {
  n: number;
  kind: 'alerts' | 'regrade' | 'propose';
  deliveryId: string;
  body: Doc;
  queuedAt: string;
  /** Sent at least once (the outcome may be unknown): probe before sending again. */
  attempted: boolean;
  /** The tracker's comment id once it is known to be there ('' where the tracker did not say it). */
  commentId?: string;
  /**
   * The delivery check could not tell whether an earlier send reached the ticket (past the 5,000
   * comments Jira's reader takes: TRACKER_DELIVERY_UNCERTAIN): `true` waits for a person who
   * looked (`opsbook alerts dispatch --uncertain-posted` or `--resend-uncertain`: `resend`, it is
   * sent without looking again).
   */
  uncertain?: true | 'resend';
}

/** Alerts converged into one problem: one graded ticket, assigned to one engineer. */
export interface Incident {
  /** `INC-<n>`, numbered by the store. */
  id: string;
  /** The correlation rule that opened it (`fallback` when none matched). */
  rule: string;
  /** What its alerts have in common (`cluster=eu-1`, `group:db`, `host:db-3`, …). */
  keys: string[];
  /** alerts.yaml's version when it opened. */
  rulesVersion: number;
  openedAt: string;
  updatedAt: string;
  /** Earliest and latest startsAt of its alerts: the time window counts from these. */
  firstStartsAt: string;
  lastStartsAt: string;
  /** When an alert last arrived or changed. */
  lastActivity: string;
  /** Takes new alerts; false once quiet (all resolved for alerts.yaml's `quiet`). */
  open: boolean;
  alerts: IncidentAlert[];
  /** The grade in force: the rules', or the last re-grade's. */
  grade: GradeDecision;
  /** What the rules say now (a re-grade keeps its grade; the rules' grade is still shown). */
  ruleGrade: { grade: Grade; reason: string };
  regrades: GradeDecision[];
  /** Runbooks alerts.yaml suggests for its alerts, and which alert label suggested each. */
  runbooks: { runbook: string; because: string }[];
  /** The tracker account it is assigned to, and by which ownership rule. */
  assignee?: string;
  assignedBy?: string;
  ticket: TicketDispatch;
  comments: CommentBatch[];
  /** Opened for alerts that came after the ticket of this earlier incident was closed. */
  follows?: IncidentPredecessor;
}

/** The inventory hosts (or host label values) of an incident's alerts, sorted. */
export function incidentHosts(incident: Pick<Incident, 'alerts'>): string[] {
  return [...new Set(incident.alerts.flatMap((a) => (a.host ? [a.host] : [])))].sort();
}

/** The services of an incident's alerts, sorted. */
export function incidentServices(incident: Pick<Incident, 'alerts'>): string[] {
  return [...new Set(incident.alerts.flatMap((a) => (a.service ? [a.service] : [])))].sort();
}

/** How many of its alerts fire now. */
export function firingCount(incident: Pick<Incident, 'alerts'>): number {
  return incident.alerts.filter((a) => a.status === 'firing').length;
}

/** Its alerts whose state the ticket does not show yet. */
export function unreported(incident: Pick<Incident, 'alerts'>): IncidentAlert[] {
  return incident.alerts.filter(
    (a) => a.reported?.status !== a.status || a.reported.fired !== a.fired,
  );
}

/** Whether the ticket's priority is not the grade in force yet (and was not refused for it). */
export function priorityBehind(incident: Pick<Incident, 'grade' | 'ticket'>): boolean {
  const { grade } = incident.grade;
  const t = incident.ticket;
  return t.key !== undefined && t.priority !== grade && t.priorityError?.grade !== grade;
}

/**
 * Whether the tracker still lacks something of the incident: its ticket, assignee, priority or
 * a comment.
 */
export function needsDispatch(incident: Incident): boolean {
  const t = incident.ticket;
  return (
    !t.key ||
    priorityBehind(incident) ||
    (incident.assignee !== undefined && !t.assigned && t.assignError === undefined) ||
    t.reportedGrade !== incident.grade.grade ||
    incident.comments.some((c) => c.commentId === undefined) ||
    unreported(incident).length > 0
  );
}

/** When the incident's alerts had all resolved (the last one's end); undefined while one fires. */
export function resolvedAt(incident: Pick<Incident, 'alerts'>): string | undefined {
  if (incident.alerts.length === 0 || firingCount(incident) > 0) return undefined;
  let last = '';
  for (const a of incident.alerts) {
    const end = a.endsAt ?? a.lastChange;
    if (Date.parse(end) > Date.parse(last || end) || !last) last = end;
  }
  return last || undefined;
}
