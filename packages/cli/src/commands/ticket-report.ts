import { reportRuns } from '@opsbook/runner';
import { defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { ticketReportText } from '../run-view.js';
import { showControls } from '../terminal-safe.js';
import { trackerFor } from '../tracker-services.js';

export default defineCommand({
  args: '<KEY> [RUN_ID]',
  positionals: { min: 1, max: 2 },
  options: {
    approval: {
      type: 'string',
      value: 'FILE',
      description:
        'the approval file the run ran (opsbook run FILE), when the ticket carries no approval of its own',
    },
  },
  details: `For a run that ended but whose ticket was never told (its runner was killed between the
run's end and its report: the ticket stays In Progress with the run "not reported yet"). First
sends the ticket's writes waiting in this machine's outbox, in order: a run whose end the tracker
did not take at the time has it there, and it is delivered, never written twice. Then, for each
run the ticket still shows not reported, reads its journal from this machine's state store (it
must verify and hold the run's end) and writes the summary comment, the journal and evidence
attachments, the run's record, and the move to In Review (or the note on why the ticket stays In
Progress). Such an end is a late report, and the ticket marks it so (the run's record says
endReportedBy "ticket report", the comment says the end was reported afterwards): this machine's
user can edit the journal and ledger it is read from, so the run always counts against the
approval (a journal saying no host was reached gives no run back: a senior approves again), and
ticket accept refuses it unless the senior, having checked the hosts, gives --accept-late-report. Without
RUN_ID, every such run of the ticket's approval. A run whose journal has no end (its runner
stopped mid-run) is not reported: its hosts' state is unknown, and a senior decides, e.g.
opsbook ticket reject KEY --reason … (at In Progress too). Exit 0 when every run was reported,
3 when one could not be.`,
  async run(ctx) {
    const config = await configFor(ctx);
    const key = ctx.positionals[0]!;
    const runId = ctx.positionals[1];
    const approvalFile = stringOption(ctx, 'approval');
    const result = await reportRuns({
      services: trackerFor(config),
      config,
      key,
      ...(runId ? { runId } : {}),
      ...(approvalFile ? { approvalFile } : {}),
    });
    if (ctx.out.json) ctx.out.printJson({ key, ...result });
    else {
      const { delivered, waiting } = result.outbox;
      if (delivered)
        ctx.out.print(`delivered ${delivered} write(s) to ${key} that waited in the outbox`);
      if (waiting)
        ctx.out.print(
          `${waiting} write(s) to ${key} still wait in the outbox: opsbook outbox flush sends them once the tracker takes them`,
        );
      for (const r of result.reported)
        ctx.out.print(`reported run ${r.runId}: ${ticketReportText(r.report)}`);
      for (const l of result.left)
        ctx.out.print(`not reported: run ${l.runId}: ${showControls(l.why)}`);
      if (result.reported.length === 0 && result.left.length === 0)
        ctx.out.print(
          `${key} has no run of its approval with no reported end: nothing ${delivered ? 'more ' : ''}to report`,
        );
    }
    return result.left.length ? exitCodes.refused : exitCodes.ok;
  },
});
