import { UsageError } from '@opsbook/schema';
import type { AlertStore } from './alert-store.js';
import { type Grade, type GradeDecision, type Incident, REGRADE_KIND } from './incident.js';
import { unknownIncident } from './incident-query.js';
import { regradeComment } from './ticket-doc.js';

/** USAGE: a re-grade to the grade the incident has would change nothing but post a comment. */
export function alreadyGraded(incident: Incident): UsageError {
  const { grade, by } = incident.grade;
  return new UsageError(
    `${incident.id}${incident.ticket.key ? ` (${incident.ticket.key})` : ''} already is ${grade}${by ? `, re-graded by ${by.name}` : ', by the rules'}: nothing to re-grade. Give another grade, or leave it`,
  );
}

/**
 * What a senior's re-grade decides on, signed with it: that it is an alert re-grade, of which
 * incident, of which ticket (once the incident has one), from which grade, and after which
 * re-grade (its time; none for the first). A signed re-grade copied onto another incident, or
 * replayed later in the same one, says another subject than the one it is recorded for, and is
 * not proven there.
 */
export type RegradeSubject = {
  kind: typeof REGRADE_KIND;
  incident: string;
  ticket?: string;
  from: Grade;
  after?: string;
};

/**
 * What a recorded re-grade must say of its subject to be proven where it is (`recordedRegrades`):
 * the fields present must be the decision's; a `ticket` present but undefined (the decision names
 * a ticket, the incident has none) never is.
 */
export type RecordedSubject = {
  kind: typeof REGRADE_KIND;
  incident: string;
  ticket?: string | undefined;
  from?: Grade;
  /** Undefined for the first re-grade: it must name none. */
  after?: string | undefined;
};

/** The subject a new re-grade of `incident`, as it stands, signs. */
export function regradeSubject(incident: Incident): RegradeSubject {
  const last = incident.regrades.at(-1);
  return {
    kind: REGRADE_KIND,
    incident: incident.id,
    ...(incident.ticket.key ? { ticket: incident.ticket.key } : {}),
    from: incident.grade.grade,
    ...(last ? { after: last.at } : {}),
  };
}

/**
 * Every senior's decision recorded on `incident` (its re-grades, and the grade in force when a
 * senior's), each with the subject it must have signed to be proven where it is: this incident;
 * its ticket, if the decision names one (a re-grade made before the ticket names none); the
 * grade and the time of the re-grade before it (the time too: P1 → P3, P3 → P1, then the first
 * again would match by grade). The first re-grade's `from` is not checked: the rules' grade it
 * re-graded is not kept (the rules grade again as alerts arrive). Records of an older opsbook
 * carry no subject, and are never proven.
 */
export function recordedRegrades(
  incident: Incident,
): { decision: GradeDecision; about: RecordedSubject }[] {
  const about = (d: GradeDecision, before: GradeDecision | undefined): RecordedSubject => ({
    kind: REGRADE_KIND,
    incident: incident.id,
    ...(d.ticket !== undefined ? { ticket: incident.ticket.key } : {}),
    ...(before ? { from: before.grade } : {}),
    after: before?.at,
  });
  const { regrades, grade } = incident;
  const recorded = regrades.map((d, k) => ({ decision: d, about: about(d, regrades[k - 1]) }));
  // The grade in force is the last re-grade: it must be about what that one is about.
  if (grade.by) recorded.push({ decision: grade, about: about(grade, regrades.at(-2)) });
  return recorded;
}

/**
 * A senior's re-grade (`opsbook alerts grade`): the incident takes the grade (the rules no
 * longer change it), the decision is kept with who made it and their signature, and a comment
 * saying so is queued for the ticket (sent by the next dispatch, exactly once). Given as a
 * function, the decision is made (signed) in the same exclusive step, on the subject of the
 * incident as it stands there: no re-grade in between can leave it signed from another grade.
 */
export async function regradeIncident<D extends GradeDecision>(
  store: AlertStore,
  idOrTicket: string,
  decision: D | ((about: RegradeSubject) => Promise<D>),
  now: () => Date = () => new Date(),
): Promise<{ incident: Incident; from: Grade; decision: D }> {
  return store.transact(0, async (state) => {
    const incident =
      state.incidents.find((i) => i.id === idOrTicket || i.ticket.key === idOrTicket) ??
      (await store.incident(idOrTicket));
    if (!incident) throw unknownIncident(idOrTicket);
    const from = incident.grade.grade;
    const made =
      typeof decision === 'function' ? await decision(regradeSubject(incident)) : decision;
    // Re-graded meanwhile to the grade asked for: a second decision would say nothing new.
    if (made.grade === from) throw alreadyGraded(incident);
    incident.regrades.push(made);
    incident.grade = made;
    incident.updatedAt = now().toISOString();
    const n = incident.comments.length + 1;
    incident.comments.push({
      n,
      kind: 'regrade',
      deliveryId: `${incident.ticket.deliveryId}-${n}`,
      body: regradeComment(incident, from, made),
      queuedAt: now().toISOString(),
      attempted: false,
    });
    // The comment says it; no alerts comment repeats it. A ticket not made yet gets the grade.
    if (incident.ticket.key) incident.ticket.reportedGrade = made.grade;
    return { change: { incidents: [incident] }, result: { incident, from, decision: made } };
  });
}
