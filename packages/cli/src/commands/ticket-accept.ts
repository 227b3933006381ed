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
  },
  details: `The journal must verify (hash chain, and the head and event count recorded on the ticket),
the run must have ended ok and every post-check passed. The proposer, the approvers and you must
be three different people. The Acceptance is an envelope like an approval (kind Acceptance,
SSHSIG namespace opsbook-acceptance), attached to the ticket.`,
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
    });
    if (ctx.out.json)
      ctx.out.printJson({ key, acceptance: result.acceptance, report: result.report });
    else
      ctx.out.print(
        `accepted ${key} (run ${result.acceptance.run.id}, ${result.acceptance.postchecks.passed} post-check(s) passed); ${ticketReportText(result.report)}`,
      );
    return exitCodes.ok;
  },
});
