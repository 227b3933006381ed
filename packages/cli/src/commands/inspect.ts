import { UsageError } from '@opsbook/schema';
import { defineCommand, stringOption } from '../command.js';
import { exitForInspection } from '../exit-code.js';
import { formatTable } from '../output.js';
import { runRoutineCommand } from '../routine-view.js';
import { executorOptions } from './ticket-signer.js';

export default defineCommand({
  options: {
    ...executorOptions,
    target: {
      type: 'string',
      value: 'PATTERN',
      description: "must equal the standing approval's selector (default: that selector)",
    },
    inventory: {
      type: 'string',
      short: 'i',
      value: 'FILE',
      description: 'inventory file or folder',
    },
  },
  details: `Runs the daily-inspection runbook under the standing approval named for it in
opsbook.yaml (standing: {daily-inspection: FILE}); refuses (exit 3) without one. The run is
verified, journaled and tied to its ticket like any run. Exit 1 when a finding is crit or the run
failed (also when some host was unreachable), else 4 when a host was unreachable. See docs/routine-work.md for creating the standing approval.

Examples:
  opsbook inspect
  opsbook inspect --json > findings.json`,
  async run(ctx) {
    if (ctx.positionals.length) throw new UsageError('opsbook inspect takes no arguments');
    const routine = await runRoutineCommand(
      ctx,
      'daily-inspection',
      stringOption(ctx, 'target'),
      stringOption(ctx, 'inventory'),
    );
    const { outcome, findings } = routine;
    if (ctx.out.json) {
      ctx.out.printJson({ runId: outcome.runId, status: outcome.status, findings });
    } else {
      const { style } = ctx.out;
      const paint = { crit: style.red, warn: style.yellow, unknown: style.dim, ok: style.green };
      ctx.out.print(
        formatTable(
          ['STATUS', 'HOST', 'CHECK', 'VALUE', 'THRESHOLD', 'MESSAGE'],
          findings.map((f) => [
            paint[f.status](f.status.toUpperCase()),
            f.host,
            f.subject ? `${f.check} ${f.subject}` : f.check,
            f.value === null ? '-' : String(f.value),
            f.threshold === null ? '-' : String(f.threshold),
            f.message,
          ]),
          style,
        ),
      );
      const crit = findings.filter((f) => f.status === 'crit').length;
      ctx.out.note(
        `run ${outcome.runId} ${outcome.status}; journal ${outcome.journal.location}${crit ? `; ${crit} crit finding(s), so exit 1 (inspect exits 1 on a crit finding, for alerting)` : ''}`,
      );
    }
    const worst = findings[0]?.status ?? 'ok';
    return exitForInspection(outcome.status, worst);
  },
});
