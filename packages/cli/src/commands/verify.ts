import { verifyApprovalFile } from '@opsbook/runner';
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
  details:
    'Exit 0 when `opsbook run FILE` would be allowed to start now; exit 3 with the refusal code otherwise.',
  async run(ctx) {
    const config = await configFor(ctx);
    const inventoryFile = stringOption(ctx, 'inventory');
    const v = await verifyApprovalFile(ctx.positionals[0]!, {
      config,
      ...(inventoryFile ? { inventoryFile } : {}),
    });
    const s = v.verified.statement;
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
        `  plan ${v.planDigest}`,
      ].join('\n'),
    );
    return exitCodes.ok;
  },
});
