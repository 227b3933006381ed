import { openTracker, type TicketServices } from '@opsbook/runner';
import type { Config } from '@opsbook/schema';

/** The tracker of this repository (local by default, Jira per opsbook.yaml) and its outbox. */
export function trackerFor(config: Config): TicketServices {
  return openTracker(config, process.env);
}
