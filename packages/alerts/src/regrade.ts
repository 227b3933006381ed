import type { AlertStore } from './alert-store.js';
import type { Grade, GradeDecision, Incident } from './incident.js';
import { unknownIncident } from './incident-query.js';
import { regradeComment } from './ticket-doc.js';

/**
 * A senior's re-grade (`opsbook alerts grade`): the incident takes the grade (the rules no
 * longer change it), the decision is kept with who made it and their signature, and a comment
 * saying so is queued for the ticket (sent by the next dispatch, exactly once).
 */
export async function regradeIncident(
  store: AlertStore,
  idOrTicket: string,
  decision: GradeDecision,
  now: () => Date = () => new Date(),
): Promise<{ incident: Incident; from: Grade }> {
  return store.transact(0, async (state) => {
    const incident =
      state.incidents.find((i) => i.id === idOrTicket || i.ticket.key === idOrTicket) ??
      (await store.incident(idOrTicket));
    if (!incident) throw unknownIncident(idOrTicket);
    const from = incident.grade.grade;
    incident.regrades.push(decision);
    incident.grade = decision;
    incident.updatedAt = now().toISOString();
    const n = incident.comments.length + 1;
    incident.comments.push({
      n,
      kind: 'regrade',
      deliveryId: `${incident.ticket.deliveryId}-${n}`,
      body: regradeComment(incident, from, decision),
      queuedAt: now().toISOString(),
      attempted: false,
    });
    // The comment says it; no alerts comment repeats it. A ticket not made yet gets the grade.
    if (incident.ticket.key) incident.ticket.reportedGrade = decision.grade;
    return { change: { incidents: [incident] }, result: { incident, from } };
  });
}
