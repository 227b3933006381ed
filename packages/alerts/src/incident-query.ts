import { alertsErrors } from './error-codes.js';
import type { Incident } from './incident.js';

/** Whether an incident is open (when asked for open ones) and opened in [since, until]. */
export function matchesQuery(
  incident: Incident,
  query: { open?: boolean; since?: Date; until?: Date },
): boolean {
  if (query.open && !incident.open) return false;
  const opened = Date.parse(incident.openedAt);
  if (query.since && opened < query.since.getTime()) return false;
  if (query.until && opened > query.until.getTime()) return false;
  return true;
}

/** INCIDENT_UNKNOWN for an id or ticket key no incident has. */
export function unknownIncident(idOrTicket: string) {
  return new alertsErrors.ValidationError(
    [
      {
        file: idOrTicket,
        line: 0,
        col: 0,
        rule: 'unknown-incident',
        message: `no incident has the id or ticket ${idOrTicket}: opsbook alerts list shows the incidents and their tickets`,
      },
    ],
    'INCIDENT_UNKNOWN',
  );
}
