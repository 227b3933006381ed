import {
  openTracker,
  type RunEvent,
  runApproved,
  TicketGate,
  verifyApprovalFile,
} from '@opsbook/runner';
import { defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { formatTable } from '../output.js';
import { planText } from '../plan-view.js';
import { ticketReportText } from '../run-view.js';

const exitFor = {
  ok: exitCodes.ok,
  failed: exitCodes.failed,
  unreachable: exitCodes.unreachable,
  interrupted: exitCodes.interrupted,
} as const;

export default defineCommand({
  name: 'run',
  summary:
    'run an approved runbook: verify the approval, execute exactly what was signed, journal it',
  args: '<approval-file>',
  positionals: { min: 1, max: 1 },
  options: {
    inventory: {
      type: 'string',
      short: 'i',
      value: 'FILE',
      description: 'inventory the plan was made with',
    },
    'dry-run': { type: 'boolean', description: 'verify and print the plan, touch nothing' },
    'accept-new-host-keys': {
      type: 'boolean',
      description: 'add unknown host keys to known_hosts (changed keys are still refused)',
    },
    quiet: { type: 'boolean', short: 'q', description: 'no command output, only step results' },
  },
  details: `Secret params come from OPSBOOK_PARAM_<NAME> in the environment. Ctrl-C stops new work:
running commands finish or time out, the run is recorded as interrupted (exit 130); a second
Ctrl-C stops at once (the journal then ends without run-end and verifies as incomplete).`,
  async run(ctx) {
    const config = await configFor(ctx);
    const file = ctx.positionals[0]!;
    const inventoryFile = stringOption(ctx, 'inventory');
    const { out } = ctx;
    if (ctx.options['dry-run']) {
      const v = await verifyApprovalFile(file, {
        config,
        ...(inventoryFile ? { inventoryFile } : {}),
      });
      if (out.json)
        out.printJson({
          dryRun: true,
          plan: v.plan,
          planDigest: v.planDigest,
          statement: v.verified.statement,
        });
      else
        out.print(
          `${planText(v.plan, v.planDigest, out.style, v.verified.statement)}\n\n${out.style.green('✓ approval valid')}: dry run, nothing was executed`,
        );
      return 0;
    }
    const controller = new AbortController();
    const onSigint = () => {
      out.note(
        '\ninterrupted: no new step or host will start; running commands finish or time out (Ctrl-C again to stop now)',
      );
      controller.abort();
      process.once('SIGINT', () => process.exit(exitCodes.interrupted));
    };
    process.once('SIGINT', onSigint);
    const t0 = Date.now();
    const progress = (e: RunEvent) => {
      if (e.type === 'run-start')
        out.note(
          `run ${e.runId}: ${e.runbook.name} ${e.runbook.version} for ${e.ticket} on ${e.hosts.length} host(s), approved by ${e.approval.signers.map((s) => s.approverId).join(', ')}`,
        );
      else if (e.type === 'step-end') {
        const mark = e.status === 'ok' ? out.style.green('ok') : out.style.red(e.status);
        out.note(
          `[${e.host}] ${e.phase}/${e.step} ${mark} (${(e.durationMs / 1000).toFixed(1)}s)${e.reason ? ` — ${e.reason}` : ''}`,
        );
      } else if (e.type === 'host-end' && e.status !== 'ok')
        out.note(
          out.style.red(
            `[${e.host}] ${e.status}${e.error ? `: ${e.error}` : ''}${e.rolledBack ? ' (rolled back)' : ''}`,
          ),
        );
    };
    try {
      const outcome = await runApproved({
        config,
        approvalFile: file,
        ...(inventoryFile ? { inventoryFile } : {}),
        env: process.env,
        acceptNewHostKeys: Boolean(ctx.options['accept-new-host-keys']),
        signal: controller.signal,
        // Every run is tied to its ticket (DESIGN §1): checked first, told the results at the end.
        ticket: new TicketGate({
          services: openTracker(config, process.env),
          stateDir: config.stateDir,
          signal: controller.signal,
        }),
        onEvent: progress,
        ...(ctx.options.quiet
          ? {}
          : { onOutput: (host, _stream, line) => out.note(out.style.dim(`${host} | `) + line) }),
      });
      const { hosts } = outcome.result;
      if (out.json) {
        out.printJson({
          runId: outcome.runId,
          status: outcome.status,
          hosts,
          journal: outcome.journal,
          ticket: outcome.ticket,
        });
      } else {
        out.print(
          formatTable(
            ['HOST', 'STATUS', 'FAILED STEP', 'ROLLED BACK', 'STEPS'],
            hosts.map((h) => [
              h.host,
              h.status,
              h.failedStep ? `${h.failedStep.phase}/${h.failedStep.id}` : '',
              h.rolledBack ? 'yes' : '',
              String(h.steps.length),
            ]),
            out.style,
          ),
        );
        out.print(
          `\nrun ${outcome.runId} ${outcome.status} in ${((Date.now() - t0) / 1000).toFixed(1)}s; journal ${outcome.journal.path} (${outcome.journal.count} events, head ${outcome.journal.head})`,
        );
        if (outcome.ticket) out.print(`ticket ${ticketReportText(outcome.ticket.end)}`);
      }
      return exitFor[outcome.status];
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  },
});
