import { runTicket } from '@opsbook/runner';
import { defineCommand } from '../command.js';
import { configFor } from '../context.js';
import { trackerFor } from '../tracker-services.js';
import { executeAndReport, runDetails, runOptions } from './execute-and-report.js';

export default defineCommand({
  args: '<KEY>',
  positionals: { min: 1, max: 1 },
  options: runOptions,
  details: `Refuses (exit 3) unless KEY is the approval's ticket and is Approved or In Progress; exits 4,
running nothing, when the tracker cannot be asked. The end-of-run comment, the journal, the
evidence and the move to In Review go through the outbox: a tracker outage never fails a
finished run (opsbook outbox flush sends them later).

${runDetails}`,
  async run(ctx) {
    const config = await configFor(ctx);
    return executeAndReport(ctx, config, (run) =>
      runTicket({ ...run, services: trackerFor(config), key: ctx.positionals[0]! }),
    );
  },
});
