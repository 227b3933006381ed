import type { AlertRecord } from './alert.js';
import type { AlertStore } from './alert-store.js';
import { convergeAlerts } from './converge.js';
import { type Incident, type IncidentAlert, unreported } from './incident.js';
import type { AlertRules } from './rules.js';
import type { Topology } from './topology.js';

/** What converges the new alerts of an incident whose ticket closed: the pipeline's rules. */
export interface Successors {
  rules: AlertRules;
  topology: Topology;
  newDeliveryId: () => string;
}

/** What closing an incident for its closed ticket did. */
export interface TicketClosure {
  incident: string;
  key: string;
  /** The ticket's status (`Done`, `Resolved`, …). */
  status: string;
  /** Incidents its new alerts opened. */
  opened: string[];
  /** Open incidents its new alerts joined instead (correlated with alerts that came since). */
  joined: string[];
}

/** Its alerts firing now that the ticket does not show firing: new ones, or fired again. */
export function firingUnshown(incident: Pick<Incident, 'alerts'>): IncidentAlert[] {
  return unreported(incident).filter((a) => a.status === 'firing');
}

/** The alert as intake stored it, as far as the incident kept it: to converge it anew. */
function recordOf(a: IncidentAlert): AlertRecord {
  return {
    fingerprint: a.fingerprint,
    startsAt: a.startsAt,
    status: a.status,
    labels: a.labels,
    annotations: a.summary ? { summary: a.summary } : {},
    ...(a.generatorURL ? { generatorURL: a.generatorURL } : {}),
    receivedAt: a.lastChange,
  };
}

/**
 * Closes an incident whose ticket was found closed, in one exclusive step of the store (a crash
 * leaves it as it was, or closed with its successors made): the incident takes no more alerts,
 * the alerts its ticket never showed leave it, and its alerts firing unshown converge anew, by
 * the rules, as if they had just come (opening an incident that `follows` it, whose ticket
 * dispatch then makes). Nothing is posted on the closed ticket. Undefined when the incident is
 * not open in the store any more, or when it has such alerts and no `successors` to converge them.
 */
export async function closeForClosedTicket(
  store: AlertStore,
  id: string,
  ticket: { key: string; status: string },
  now: Date,
  successors: Successors | undefined,
): Promise<TicketClosure | undefined> {
  return store.transact(0, (state) => {
    const incident = state.incidents.find((i) => i.id === id);
    const moving = incident ? firingUnshown(incident) : [];
    if (!incident?.open || (moving.length && !successors)) return { change: {}, result: undefined };
    const at = now.toISOString();
    incident.alerts = incident.alerts.filter((a) => a.reported !== undefined);
    incident.open = false;
    incident.updatedAt = at;
    incident.ticket.closed = { status: ticket.status, at };
    const closure: TicketClosure = { incident: id, ...ticket, opened: [], joined: [] };
    if (!successors || moving.length === 0)
      return { change: { incidents: [incident] }, result: closure };
    const rest = { ...state, incidents: state.incidents.filter((i) => i !== incident) };
    const result = convergeAlerts({
      ...successors,
      state: rest,
      alerts: moving.map(recordOf),
      now,
    });
    for (const opened of rest.incidents)
      if (result.opened.includes(opened.id))
        opened.follows = { incident: id, ticket: ticket.key, status: ticket.status };
    closure.opened = result.opened;
    closure.joined = result.updated;
    return {
      change: { ...result.change, incidents: [incident, ...(result.change.incidents ?? [])] },
      result: closure,
    };
  });
}

/** What `closeIncidentOfTicket` did: nothing (no open incident has that ticket), or this. */
export interface IncidentOfTicket {
  incident: string;
  /** False while it holds alerts firing that the ticket does not show: the next dispatch moves them. */
  closed: boolean;
}

/**
 * Closes the open incident whose ticket `key` a person just closed (`opsbook ticket accept`),
 * when the tracker says the ticket is in its `done` category: at once, instead of at the next
 * dispatch pass. An incident still holding alerts the ticket does not show stays open; the next
 * dispatch, which has the rules, gives them a new incident (`closeForClosedTicket`).
 */
export async function closeIncidentOfTicket(
  store: AlertStore,
  key: string,
  ticket: { status: string; statusCategory?: string | undefined },
  now: Date,
): Promise<IncidentOfTicket | undefined> {
  if (ticket.statusCategory !== 'done') return undefined;
  const incident = await store.incident(key);
  if (!incident?.open || incident.ticket.key !== key) return undefined;
  const closure = await closeForClosedTicket(
    store,
    incident.id,
    { key, status: ticket.status },
    now,
    undefined,
  );
  return { incident: incident.id, closed: closure !== undefined };
}
