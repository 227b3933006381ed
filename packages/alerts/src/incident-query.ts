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
