import { alertStoreOf, type Incident, resolvedAt } from '@opsbook/alerts';
import type { AlertActivity } from '@opsbook/health-report';
import { readHistory } from '@opsbook/runner';
import type { Config } from '@opsbook/schema';
import type { Tracker } from '@opsbook/tracker';
import { trackerFor } from '../tracker-services.js';

/** When a fix was first proposed on the incident's ticket (its opsbook.history). */
async function proposedAt(tracker: Tracker, incident: Incident): Promise<string | undefined> {
  const key = incident.ticket.key;
  if (!key) return undefined;
  const history = await readHistory(tracker, key);
  return history.find((s) => s.step === 'proposed')?.at;
}

/**
 * What the health report's alerts section needs over [since, until]: alerts per day from the
 * alert store, and each incident's times (assigned: its ticket made; proposed: read from the
 * ticket; resolved: its alerts). Undefined when the store has neither alerts nor incidents
 * there. `notes` gets a sentence when a ticket could not be read.
 */
export async function alertActivityOf(
  config: Config,
  since: Date,
  until: Date,
  notes: string[],
): Promise<AlertActivity | undefined> {
  const store = alertStoreOf(config);
  try {
    const [days, incidents] = await Promise.all([
      store.alertDays(since, until),
      store.incidents({ since, until }),
    ]);
    if (days.length === 0 && incidents.length === 0) return undefined;
    const tracker = incidents.some((i) => i.ticket.key) ? trackerFor(config).tracker : undefined;
    let unread = 0;
    const times = [];
    for (const i of incidents) {
      const proposed = tracker
        ? await proposedAt(tracker, i).catch(() => {
            unread++;
            return undefined;
          })
        : undefined;
      times.push({
        id: i.id,
        ticket: i.ticket.key,
        grade: i.grade.grade,
        open: i.open,
        openedAt: i.openedAt,
        assignedAt: i.ticket.createdAt,
        proposedAt: proposed,
        resolvedAt: resolvedAt(i),
      });
    }
    if (unread)
      notes.push(
        `${unread} incident ticket(s) could not be read from the tracker: the time to acknowledge counts them as pending`,
      );
    return { days, incidents: times };
  } finally {
    await store.close();
  }
}
