import { acceptTicket } from '@opsbook/runner';
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
(opsbook ticket reject KEY --reason …).`,
  async run(ctx) {
    const config = await configFor(ctx);
    const key = ctx.positionals[0]!;
    const journalFile = stringOption(ctx, 'journal');
    const result = await acceptTicket({
      services: trackerFor(config),
      config,
      key,
      signer: await signerFor(ctx),
      ...(journalFile ? { journalFile } : {}),
      ...(ctx.options['accept-late-report'] === true ? { acceptLateReport: true } : {}),
    });
    if (ctx.out.json)
      ctx.out.printJson({ key, acceptance: result.acceptance, report: result.report });
    else
      ctx.out.print(
        `accepted ${key} (run ${result.acceptance.run.id}, ${result.acceptance.postchecks.passed} post-check(s) passed${result.acceptance.run.endReportedBy ? '; its end reported late, accepted with --accept-late-report' : ''}); ${ticketReportText(result.report)}`,
      );
    return exitCodes.ok;
  },
});
