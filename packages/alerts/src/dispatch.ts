import { isOpsbookError, OpsbookError, UsageError } from '@opsbook/schema';
import { docText, type Grade, type Tracker } from '@opsbook/tracker';
import type { AlertStore } from './alert-store.js';
import { closeForClosedTicket, type Successors, type TicketClosure } from './closed-ticket.js';
import { alertsErrors } from './error-codes.js';
import {
  type CommentBatch,
  type GradeDecision,
  type Incident,
  needsDispatch,
  priorityBehind,
  unreported,
} from './incident.js';
import { unknownIncident } from './incident-query.js';
import { type RecordedSubject, recordedRegrades } from './regrade.js';
import {
  alertsComment,
  incidentTicket,
  priorityRefused,
  proposeComment,
  ticketSummary,
} from './ticket-doc.js';

/**
 * Whether a senior's re-grade is proven where it is recorded: it carries `about` (this incident,
 * its ticket, the grade before it: `recordedRegrades`), its SSHSIG verifies over the decision
 * and is by a current key of the senior it names, in the pinned trust store. Given by the
 * runner's side (@opsbook/alerts does not read the trust store); absent, re-grades are taken as
 * stored.
 */
export type ProvenDecision = (
  decision: GradeDecision,
  about: RecordedSubject,
) => boolean | Promise<boolean>;

export interface DispatchOptions {
  store: AlertStore;
  tracker: Tracker;
  /** Checks every re-grade before anything of its incident goes to the ticket. */
  isProven?: ProvenDecision;
  /** Only these incidents (ids), open or closed; default every open incident. */
  only?: readonly string[];
  /**
   * Converges the new alerts of an incident whose ticket was found closed into a new incident.
   * Absent (a re-grade's dispatch), such an incident waits for a pass that has the rules.
   */
  successors?: Successors;
  now?: () => Date;
}

export interface DispatchReport {
  /** Tickets made (or found made by an earlier attempt) in this pass. */
  created: { incident: string; key: string }[];
  comments: number;
  /** Tickets whose priority was set to a changed grade in this pass. */
  priorities: number;
  /** Incidents with writes left for a later pass (the tracker is down, or refused one). */
  waiting: string[];
  /** Writes the tracker refused (not an outage), by incident. */
  refused: { incident: string; code: string; message: string }[];
  /**
   * Tickets whose priority the tracker refused in this pass (the project's priority scheme lacks
   * the grade's): created without one (`created`), or left at the earlier grade's. The message
   * names the priority and the setting to change (Jira: `tracker.jira.priorities.<grade>`).
   */
  priorityRefused: PriorityRefusal[];
  /**
   * Incidents whose ticket was found closed (its status in the `done` category) with something to
   * post: closed instead, their new alerts opening new incidents (and tickets).
   */
  closed: TicketClosure[];
  /** Another process holds the dispatch lock: it dispatches. */
  busy: boolean;
  /** The tracker could not be reached: DISPATCH_PENDING's message. */
  unreachable?: string;
}

export interface PriorityRefusal {
  incident: string;
  key: string;
  grade: Grade;
  created: boolean;
  message: string;
}

interface Pass {
  store: AlertStore;
  tracker: Tracker;
  isProven?: ProvenDecision;
  successors?: Successors;
  now: () => Date;
  report: DispatchReport;
}

/** Applies `change` to the incident as stored now, in one exclusive step, and returns it. */
async function mutate(
  store: AlertStore,
  id: string,
  change: (incident: Incident) => void,
): Promise<Incident> {
  return store.transact(0, async (state) => {
    const incident = state.incidents.find((i) => i.id === id) ?? (await store.incident(id));
    if (!incident) throw unknownIncident(id);
    change(incident);
    return { change: { incidents: [incident] }, result: incident };
  });
}

const reportedState = (i: Incident) => {
  for (const a of i.alerts) a.reported = { status: a.status, fired: a.fired };
  i.ticket.reportedGrade = i.grade.grade;
};

/**
 * Queues the comment that names the ticket's key in the command proposing each suggested runbook,
 * in the step that records the key: the description was written before the tracker gave one.
 * Sent as every comment is (once, and kept in the store while the tracker is away).
 */
function queueProposal(i: Incident, key: string, at: string): void {
  if (i.runbooks.length === 0 || i.comments.some((c) => c.kind === 'propose')) return;
  const n = i.comments.length + 1;
  i.comments.push({
    n,
    kind: 'propose',
    deliveryId: `${i.ticket.deliveryId}-${n}`,
    body: proposeComment(i, key),
    queuedAt: at,
    attempted: false,
  });
}

/**
 * The incident's ticket, made once: the create carries the incident's delivery id and is
 * recorded as attempted before it is sent, so after a crash or a timeout the tracker is asked
 * first (`findDelivered`) whether it already has it.
 */
async function ensureTicket(pass: Pass, incident: Incident): Promise<Incident> {
  const { store, tracker, now } = pass;
  const { deliveryId } = incident.ticket;
  if (incident.ticket.attempted && incident.ticket.summary) {
    const key = await tracker.findDelivered({
      kind: 'create',
      deliveryId,
      summary: incident.ticket.summary,
    });
    if (key) {
      pass.report.created.push({ incident: incident.id, key });
      return mutate(store, incident.id, (i) => {
        i.ticket.key = key;
        i.ticket.createdAt = now().toISOString();
        queueProposal(i, key, i.ticket.createdAt);
      });
    }
  }
  const sending = await mutate(store, incident.id, (i) => {
    i.ticket.attempted = true;
    i.ticket.summary = incidentTicket(i).summary;
    reportedState(i);
  });
  const ref = await tracker.create(incidentTicket(sending), { deliveryId });
  pass.report.created.push({ incident: incident.id, key: ref.key });
  // The create carries the grade as the priority, unless the tracker refused it: the ticket is
  // made without (its summary and description give the grade) and the refusal is kept. A ticket
  // found made by an earlier attempt has its priority set next (syncPriority), to know which.
  const { grade } = sending.grade;
  const refusal = ref.priorityRefused
    ? { grade, message: ref.priorityRefused, at: now().toISOString() }
    : undefined;
  if (refusal)
    pass.report.priorityRefused.push({
      incident: incident.id,
      key: ref.key,
      grade,
      created: true,
      message: refusal.message,
    });
  return mutate(store, incident.id, (i) => {
    i.ticket.key = ref.key;
    i.ticket.url = ref.url;
    i.ticket.createdAt = now().toISOString();
    queueProposal(i, ref.key, i.ticket.createdAt);
    if (refusal) i.ticket.priorityError = refusal;
    else i.ticket.priority = grade;
  });
}

async function assignTicket(pass: Pass, incident: Incident, key: string): Promise<Incident> {
  try {
    await pass.tracker.assign(key, incident.assignee!);
  } catch (e) {
    if (!isOpsbookError(e) || e.kind !== 'refused') throw e;
    // An account the tracker does not know: said once on the incident, not retried forever.
    return mutate(pass.store, incident.id, (i) => {
      i.ticket.assignError = e.message;
    });
  }
  return mutate(pass.store, incident.id, (i) => {
    i.ticket.assigned = true;
  });
}

/**
 * Sets the ticket's priority to the grade in force, before the comment that announces the grade
 * goes: a crash between the two leaves the comment queued (sent once later), and setting the
 * priority again is harmless. A refusal (the project's priority scheme lacks the name) is kept on
 * the incident and said in the senior's re-grade comment, which still goes; a grade changed by
 * the rules says it in its alerts comment (alertsComment).
 */
async function syncPriority(pass: Pass, incident: Incident, key: string): Promise<Incident> {
  const { grade } = incident.grade;
  try {
    // The summary names the grade ("[P2] DiskFull on 2 hosts"): it changes with the priority.
    await pass.tracker.setPriority(key, grade, { summary: ticketSummary(incident) });
  } catch (e) {
    if (!isOpsbookError(e) || e.kind !== 'refused') throw e;
    const refusal = { grade, message: e.message, at: pass.now().toISOString() };
    pass.report.priorityRefused.push({
      incident: incident.id,
      key,
      grade,
      created: false,
      message: e.message,
    });
    return mutate(pass.store, incident.id, (i) => {
      i.ticket.priorityError = refusal;
      // The senior's re-grade comment (a re-grade stays in force once made: the rules no longer
      // change the grade), unless a send of it may have happened already.
      const comment = i.regrades.length
        ? i.comments.findLast((c) => c.kind === 'regrade' && c.commentId === undefined)
        : undefined;
      if (comment && !comment.attempted) comment.body.blocks.push(priorityRefused(refusal));
    });
  }
  pass.report.priorities++;
  return mutate(pass.store, incident.id, (i) => {
    i.ticket.priority = grade;
    delete i.ticket.priorityError;
  });
}

/** Queues one comment for everything the ticket does not show yet (new, resolved, re-fired). */
async function queueBatch(pass: Pass, incident: Incident): Promise<Incident> {
  if (unreported(incident).length === 0 && incident.ticket.reportedGrade === incident.grade.grade)
    return incident;
  return mutate(pass.store, incident.id, (i) => {
    const changes = unreported(i);
    const gradeChanged = i.ticket.reportedGrade !== i.grade.grade;
    if (changes.length === 0 && !gradeChanged) return;
    const n = i.comments.length + 1;
    i.comments.push({
      n,
      kind: 'alerts',
      deliveryId: `${i.ticket.deliveryId}-${n}`,
      body: alertsComment(i, changes, gradeChanged),
      queuedAt: pass.now().toISOString(),
      attempted: false,
    });
    reportedState(i);
  });
}

const UNCERTAIN = 'TRACKER_DELIVERY_UNCERTAIN';

/** TRACKER_DELIVERY_UNCERTAIN for an alert comment: what to look for, and the two commands. */
function uncertainComment(
  incident: Incident,
  key: string,
  batch: CommentBatch,
  details: Record<string, unknown>,
): OpsbookError {
  return new OpsbookError(
    'refused',
    UNCERTAIN,
    `could not tell whether a comment of ${incident.id} already reached ${key}: ${key} has more comments than the 5,000 newest opsbook reads, and an earlier send of it may be among the older ones. Look on ${key} for the comment (${commentGist(batch)}); if it is there, run opsbook alerts dispatch --uncertain-posted ${incident.id}; if not, opsbook alerts dispatch --resend-uncertain ${incident.id} posts it without looking again. The incident's other writes wait until then.`,
    { ...details, ticket: key, incident: incident.id },
  );
}

/** How a person finds a queued comment on the ticket: its kind and first words. */
function commentGist(batch: CommentBatch): string {
  const first = docText(batch.body).replace(/\s+/g, ' ').trim();
  const words = first.length > 60 ? `${first.slice(0, 60)}…` : first;
  return `the ${batch.kind} comment queued at ${batch.queuedAt}${words ? ` beginning "${words}"` : ''}`;
}

/** Sends a queued comment exactly once: attempted comments are looked for on the ticket first. */
async function sendComment(
  pass: Pass,
  incident: Incident,
  key: string,
  n: number,
): Promise<Incident> {
  const batch = incident.comments.find((c) => c.n === n)!;
  const record = (commentId: string) =>
    mutate(pass.store, incident.id, (i) => {
      const b = i.comments.find((c) => c.n === n);
      if (!b) return;
      b.commentId = commentId;
      delete b.uncertain;
    });
  // A person looked on the ticket and found it not there (decideUncertain): it is sent without
  // looking again, which would only fail the same way.
  const resend = batch.uncertain === 'resend';
  // Found uncertain by an earlier pass: more comments since never make an older one readable,
  // so the ticket's 5,000 comments are not paged through again to say the same.
  if (batch.uncertain === true) throw uncertainComment(incident, key, batch, {});
  if (batch.attempted && !resend) {
    let found: string | undefined;
    try {
      found = await pass.tracker.findDelivered({
        kind: 'comment',
        deliveryId: batch.deliveryId,
        key,
        // Only comments made since the batch was queued may be it: on a ticket past the 5,000
        // comments Jira's reader takes, that lets the probe be sure of an absent one.
        since: batch.queuedAt,
      });
    } catch (e) {
      if (!isOpsbookError(e) || e.code !== UNCERTAIN) throw e;
      await mutate(pass.store, incident.id, (i) => {
        const b = i.comments.find((c) => c.n === n);
        if (b) b.uncertain = true;
      });
      throw uncertainComment(incident, key, batch, e.details);
    }
    if (found) return record(found);
  }
  await mutate(pass.store, incident.id, (i) => {
    const b = i.comments.find((c) => c.n === n);
    if (!b) return;
    b.attempted = true;
    // Sent once on the person's word: a send whose answer is lost is looked for again.
    delete b.uncertain;
  });
  const { id } = await pass.tracker.comment(key, batch.body, { deliveryId: batch.deliveryId });
  pass.report.comments++;
  // Made, though a tracker may not say its id (Jira's 201 need not carry it): posted all the same.
  return record(id ?? '');
}

/**
 * Whether the incident's ticket is closed (Done, Resolved: the tracker's `done` category), read
 * before anything more is posted on it: then the incident closes instead, and its new alerts go
 * to a new incident with a ticket of its own (`closeForClosedTicket`), which this pass makes next.
 */
async function closedTicket(
  pass: Pass,
  incident: Incident,
  key: string,
): Promise<TicketClosure | 'closed' | undefined> {
  const ticket = await pass.tracker.get(key);
  if (ticket.statusCategory !== 'done') return undefined;
  const closure = await closeForClosedTicket(
    pass.store,
    incident.id,
    { key, status: ticket.status },
    pass.now(),
    pass.successors,
  );
  if (!closure) {
    pass.report.waiting.push(incident.id);
    return 'closed';
  }
  pass.report.closed.push(closure);
  return closure;
}

/**
 * What a person who looked on the ticket found of the comments of an incident (id or ticket key)
 * that the delivery check could not tell sent or not (TRACKER_DELIVERY_UNCERTAIN): `posted`, it is
 * there (recorded posted, its id unknown, never sent); `absent`, it is not (the next dispatch
 * posts it without looking again). Recorded in the store, so whichever process dispatches next
 * (`alerts serve`) acts on it. Returns how many comments it decided; none is a usage error.
 */
export async function decideUncertain(
  store: AlertStore,
  ref: string,
  found: 'posted' | 'absent',
): Promise<{ incident: string; ticket?: string; comments: number }> {
  const known = await store.incident(ref);
  if (!known) throw unknownIncident(ref);
  let comments = 0;
  const incident = await mutate(store, known.id, (i) => {
    for (const c of i.comments) {
      if (c.uncertain !== true || c.commentId !== undefined) continue;
      comments++;
      if (found === 'absent') c.uncertain = 'resend';
      else {
        c.commentId = '';
        delete c.uncertain;
      }
    }
  });
  if (comments === 0)
    throw new UsageError(
      `${incident.id}${incident.ticket.key ? ` (${incident.ticket.key})` : ''} has no comment that opsbook could not tell posted or not: nothing to decide (opsbook alerts show ${incident.id} shows what it waits for)`,
    );
  return {
    incident: incident.id,
    ...(incident.ticket.key ? { ticket: incident.ticket.key } : {}),
    comments,
  };
}

/** Dispatches one incident; returns the incidents that took the alerts of its closed ticket. */
async function dispatchOne(pass: Pass, start: Incident): Promise<string[]> {
  await refuseUnproven(pass, start);
  if (start.ticket.key) {
    const closure = await closedTicket(pass, start, start.ticket.key);
    if (closure === 'closed') return [];
    if (closure) return [...closure.opened, ...closure.joined];
  }
  let incident = start.ticket.key ? start : await ensureTicket(pass, start);
  const key = incident.ticket.key!;
  if (incident.assignee && !incident.ticket.assigned && incident.ticket.assignError === undefined)
    incident = await assignTicket(pass, incident, key);
  if (priorityBehind(incident)) incident = await syncPriority(pass, incident, key);
  incident = await queueBatch(pass, incident);
  for (const batch of incident.comments.filter((c) => c.commentId === undefined))
    incident = await sendComment(pass, incident, key, batch.n);
  return [];
}

/**
 * A re-grade whose signature does not verify, or that was signed for another incident, ticket
 * or earlier grade (copied there), was not made there by `opsbook alerts grade` (the alert
 * state is as writable as the files or rows that hold it): its incident sends nothing, neither
 * the grade as priority nor the comment naming a senior who never decided it.
 */
async function refuseUnproven(pass: Pass, incident: Incident): Promise<void> {
  if (!pass.isProven) return;
  for (const { decision: d, about } of recordedRegrades(incident))
    if (!(await pass.isProven(d, about)))
      throw new alertsErrors.RefusalError(
        'REGRADE_UNPROVEN',
        `the re-grade of ${incident.id} to ${d.grade} at ${d.at}, said to be by ${d.by?.id ?? 'nobody'}, carries no valid signature of a listed senior over a re-grade of ${incident.id}${about.ticket ? ` (${about.ticket})` : ''}${about.from ? ` from ${about.from}` : ''}: nothing of ${incident.id} goes to its ticket. Its state was written by someone else: check who can write the alert store`,
        { incident: incident.id },
      );
}

function oldestFirst(a: Incident, b: Incident): number {
  return a.openedAt.localeCompare(b.openedAt) || a.id.localeCompare(b.id, 'en', { numeric: true });
}

/**
 * Brings the tracker up to date with the incidents: one ticket per incident (summary, grade as
 * priority, the alerts as a table, sources, hosts, suggested runbooks, assignee), the priority
 * of a grade changed since, then one comment per batch of alerts the ticket does not show yet,
 * and each senior's re-grade. Every
 * write is recorded in the store before and after it is sent, and carries a delivery id, so a
 * crash or restart never doubles a ticket or a comment. One dispatcher runs at a time (the
 * store's dispatch lock); a tracker outage stops the pass and leaves the rest for the next one.
 */
export async function dispatchIncidents(options: DispatchOptions): Promise<DispatchReport> {
  const report: DispatchReport = {
    created: [],
    comments: 0,
    priorities: 0,
    waiting: [],
    refused: [],
    priorityRefused: [],
    closed: [],
    busy: false,
  };
  const pass: Pass = {
    store: options.store,
    tracker: options.tracker,
    ...(options.isProven ? { isProven: options.isProven } : {}),
    ...(options.successors ? { successors: options.successors } : {}),
    now: options.now ?? (() => new Date()),
    report,
  };
  const done = await options.store.dispatchLock(async () => {
    const candidates = options.only
      ? (await Promise.all(options.only.map((id) => options.store.incident(id)))).filter(
          (i): i is Incident => i !== undefined,
        )
      : await options.store.incidents({ open: true });
    // An incident closed for its closed ticket sends nothing more (its alerts went on).
    const todo = candidates.filter((i) => !i.ticket.closed && needsDispatch(i)).sort(oldestFirst);
    for (let n = 0; n < todo.length; n++) {
      const incident = todo[n]!;
      try {
        for (const id of await dispatchOne(pass, incident)) {
          const next = await options.store.incident(id);
          if (next && !todo.some((i) => i.id === id) && needsDispatch(next)) todo.push(next);
        }
      } catch (e) {
        if (isOpsbookError(e) && e.kind === 'unreachable') {
          report.unreachable = e.message;
          report.waiting.push(...todo.slice(n).map((i) => i.id));
          return true;
        }
        if (!isOpsbookError(e)) throw e;
        report.refused.push({ incident: incident.id, code: e.code, message: e.message });
        report.waiting.push(incident.id);
        await mutate(options.store, incident.id, (i) => {
          i.ticket.lastError = { code: e.code, message: e.message, at: pass.now().toISOString() };
        });
      }
    }
    return true;
  });
  report.busy = done === undefined;
  return report;
}

/** DISPATCH_PENDING when the pass could not reach the tracker (what waits, and what to do). */
export function dispatchPending(report: DispatchReport): OpsbookError | undefined {
  if (report.unreachable === undefined) return undefined;
  return new alertsErrors.UnreachableError(
    'DISPATCH_PENDING',
    `the tracker could not be reached (${report.unreachable}): ${report.waiting.join(', ')} wait in the alert store; run opsbook alerts dispatch again later`,
    { waiting: report.waiting },
  );
}
