import { openTracker, TicketGate, verifyApprovalFile } from '@opsbook/runner';
import { stateStoreOf } from '@opsbook/state';
import { defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';

export default defineCommand({
  args: '<file>',
  positionals: { min: 1, max: 1 },
  options: {
    inventory: {
      type: 'string',
      short: 'i',
      value: 'FILE',
      description: 'inventory to re-render the approved hosts from',
    },
  },
  details: `Exit 0 when \`opsbook run FILE\` would be allowed to start now: the approval verifies
against this checkout and the trust pin, and its ticket is Approved (or In Progress) on the
tracker the approval names, carries no other approval, and has runs of it left. Exit 3 with the
refusal code otherwise; exit 4 when the tracker cannot be reached.`,
  async run(ctx) {
    const config = await configFor(ctx);
    const inventoryFile = stringOption(ctx, 'inventory');
    const v = await verifyApprovalFile(ctx.positionals[0]!, {
      config,
      ...(inventoryFile ? { inventoryFile } : {}),
    });
    const s = v.verified.statement;
    // What run checks before any host, after the approval: the ticket (read only, nothing claimed).
    await new TicketGate({
      services: openTracker(config, process.env),
      store: stateStoreOf(config),
    }).check(s);
    if (ctx.out.json) {
      ctx.out.printJson({
        ok: true,
        statement: s,
        signers: v.verified.signers,
        planDigest: v.planDigest,
      });
      return exitCodes.ok;
    }
    ctx.out.print(
      [
        ctx.out.style.green(
          `✓ valid: ${s.runbook.name} ${s.runbook.version} for ${s.ticket} on ${v.plan.hosts.length} host(s)`,
        ),
        `  signed by ${v.verified.signers.map((x) => `${x.name} (${x.approverId}, ${x.fingerprint})`).join(', ')}`,
        `  valid until ${s.expiresAt}; runs allowed ${s.maxRuns}`,
        `  ticket ${s.ticket} is ready for it (Approved or In Progress, runs left)`,
        `  plan ${v.planDigest}`,
      ].join('\n'),
    );
    return exitCodes.ok;
  },
});
