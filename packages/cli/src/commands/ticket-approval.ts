import path from 'node:path';
import { saveTicketApproval } from '@opsbook/runner';
import { defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { showControlsIn } from '../terminal-safe.js';
import { trackerFor } from '../tracker-services.js';

export default defineCommand({
  args: '<KEY>',
  positionals: { min: 1, max: 1 },
  options: {
    output: {
      type: 'string',
      short: 'o',
      value: 'FILE',
      description:
        "where to write it (default: a standing approval goes where opsbook.yaml's standing: names it, else approvals/RUNBOOK.approval.json; any other to KEY.RUNBOOK.approval.json)",
    },
    force: { type: 'boolean', description: 'replace a file that holds another approval' },
  },
  details: `Example, the recurring ticket of the daily inspection once a senior approved it:
  opsbook ticket approval OPS-1 -o approvals/daily-inspection.approval.json

Writes the complete signed approval the ticket carries (what ticket approve attached). Writing it
grants nothing: every run verifies the file like any approval (signatures against the pinned
trust store, runbook and plan digests, expiry, ticket). A file that already holds this approval
is left as it is; one that holds another is replaced only with --force.`,
  async run(ctx) {
    const config = await configFor(ctx);
    const key = ctx.positionals[0]!;
    const output = stringOption(ctx, 'output');
    const saved = await saveTicketApproval({
      tracker: trackerFor(config).tracker,
      config,
      key,
      ...(output ? { output } : {}),
      force: Boolean(ctx.options.force),
    });
    if (ctx.out.json) {
      ctx.out.printJson({
        key,
        file: saved.file,
        written: saved.written,
        approvalId: saved.statement.id,
        signers: saved.signers,
        standing: saved.standing ?? null,
      });
      return exitCodes.ok;
    }
    // Names and ids come from the tracker: whoever can write to it wrote them.
    const view = showControlsIn(saved);
    const s = view.statement;
    const shown = path.relative(process.cwd(), view.file) || view.file;
    ctx.out.print(
      `${view.written ? `wrote ${shown}` : `${shown} already holds it`}: ${s.runbook.name} ${s.runbook.version} for ${s.ticket}, signed by ${view.signers.join(', ')}, valid until ${s.expiresAt}, at most ${s.maxRuns} run(s)`,
    );
    const standing = view.standing;
    if (!standing)
      ctx.out.print(`Run it with: opsbook run ${shown} (or opsbook ticket run ${s.ticket})`);
    else if (standing.configured)
      ctx.out.print(
        `opsbook.yaml's standing: names it: routine runs of ${standing.runbook} (selector "${standing.selector}") use it from now on`,
      );
    else
      ctx.out.print(
        `Next: name it in opsbook.yaml, so that routine runs of ${standing.runbook} use it:\n  standing:\n    ${standing.runbook}: ${path.relative(config.root, view.file)}`,
      );
    return exitCodes.ok;
  },
});
