import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  ALERTS_DIR,
  type AlertStore,
  alertStoreOf,
  closeIncidentOfTicket,
  type IncidentOfTicket,
} from '@opsbook/alerts';
import { acceptTicket, type TicketServices } from '@opsbook/runner';
import type { Config } from '@opsbook/schema';
import { defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { ticketReportText } from '../run-view.js';
import { trackerFor } from '../tracker-services.js';
import { signerFor, signerOptions } from './ticket-signer.js';

export default defineCommand({
  args: '<KEY>',
  positionals: { min: 1, max: 1 },
  options: {
    ...signerOptions,
    journal: {
      type: 'string',
      value: 'FILE',
      description:
        "the run's journal, when it is not in this machine's state dir (download it from the ticket)",
    },
    'accept-late-report': {
      type: 'boolean',
      description:
        "accept a run whose end its runner did not report (opsbook ticket report wrote it later from the runner machine's journal), once you have checked the hosts yourself; recorded in the signed acceptance",
    },
  },
  details: `The journal must verify (hash chain, and the head and event count recorded on the ticket),
the run must have ended ok and every post-check passed. The proposer, the approvers and you must
be three different people. The Acceptance is an envelope like an approval (kind Acceptance,
SSHSIG namespace opsbook-acceptance), attached to the ticket.

A run whose end was written by opsbook ticket report (its runner stopped before it told the
ticket; ticket show marks it "reported late") is refused (RUN_REPORTED_LATE, exit 3): that end,
journal and post-checks were read afterwards from the state store of the machine that ran it,
which that machine's user can edit (the journal's hash chain has no key: a journal written out
whole still verifies). Check the hosts yourself; if they are as the run says, accept with
--accept-late-report, which the signed acceptance records (run.endReportedBy); otherwise reject
(opsbook ticket reject KEY --reason …).

When the ticket was opened for an alert incident (opsbook alerts), that incident closes with it:
its next alerts open a new incident and ticket.`,
  async run(ctx) {
    const config = await configFor(ctx);
    const key = ctx.positionals[0]!;
    const journalFile = stringOption(ctx, 'journal');
    const services = trackerFor(config);
    const result = await acceptTicket({
      services,
      config,
      key,
      signer: await signerFor(ctx),
      ...(journalFile ? { journalFile } : {}),
      ...(ctx.options['accept-late-report'] === true ? { acceptLateReport: true } : {}),
    });
    const incident = await closeIncidentOf(config, services, key, (text) => ctx.out.note(text));
    if (ctx.out.json)
      ctx.out.printJson({
        key,
        acceptance: result.acceptance,
        report: result.report,
        ...(incident ? { incident } : {}),
      });
    else {
      ctx.out.print(
        `accepted ${key} (run ${result.acceptance.run.id}, ${result.acceptance.postchecks.passed} post-check(s) passed${result.acceptance.run.endReportedBy ? '; its end reported late, accepted with --accept-late-report' : ''}); ${ticketReportText(result.report)}`,
      );
      if (incident)
        ctx.out.print(
          incident.closed
            ? `alert incident ${incident.incident} closed with ${key}: its next alerts open a new incident`
            : `alert incident ${incident.incident} stays open until the next alerts dispatch: it holds alerts firing that ${key} does not show yet, which then go to a new incident`,
        );
    }
    return exitCodes.ok;
  },
});

/**
 * Closes the alert incident of the accepted ticket, now rather than at the next dispatch pass.
 * The acceptance is made whatever happens here: a store that cannot be read is a note, and the
 * next dispatch closes the incident as it finds the ticket Done.
 */
async function closeIncidentOf(
  config: Config,
  services: TicketServices,
  key: string,
  note: (text: string) => void,
): Promise<IncidentOfTicket | undefined> {
  // No alerts were ever stored here: nothing to open (the files store is not created for this).
  if (config.state.kind !== 'postgres' && !existsSync(path.join(config.stateDir, ALERTS_DIR)))
    return undefined;
  let store: AlertStore | undefined;
  try {
    store = alertStoreOf(config);
    return await closeIncidentOfTicket(store, key, await services.tracker.get(key), new Date());
  } catch (e) {
    note(
      `the alert incident of ${key}, if any, was not closed (${(e as Error).message}): the next alerts dispatch closes it`,
    );
    return undefined;
  } finally {
    await store?.close().catch(() => {});
  }
}
