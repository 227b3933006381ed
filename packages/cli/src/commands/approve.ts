import {
  approveFile,
  readApprovalFile,
  refuseMissingTicket,
  type SigningView,
} from '@opsbook/runner';
import { defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { commandHint, inventoryWords } from '../hint.js';
import { maxRunsOption } from '../max-runs.js';
import { signingText } from '../plan-view.js';
import { trackerFor } from '../tracker-services.js';
import { signerFor, signerOptions } from './ticket-signer.js';

export default defineCommand({
  args: '<file>',
  positionals: { min: 1, max: 1 },
  options: {
    ...signerOptions,
    expires: {
      type: 'string',
      value: 'DURATION',
      description: 'validity from now, e.g. 24h (before the first signature only)',
    },
    'max-runs': {
      type: 'string',
      value: 'N',
      description: 'how many runs it allows (before the first signature only)',
    },
    inventory: {
      type: 'string',
      short: 'i',
      value: 'FILE',
      description: 'inventory used to re-render the plan you are signing',
    },
  },
  details: `Re-renders the plan from this checkout and refuses (exit 3) when it no longer matches the
file, so you sign what you reviewed. The signature is an OpenSSH SSHSIG (namespace
opsbook-approval), the same as: ssh-keygen -Y sign -n opsbook-approval -f KEY.`,
  async run(ctx) {
    const config = await configFor(ctx);
    const file = ctx.positionals[0]!;
    const maxRuns = maxRunsOption(ctx);
    const signer = await signerFor(ctx);
    // What run would refuse for good is refused before the signature is spent on it.
    const { statement } = await readApprovalFile(file);
    const ticketCheck = await refuseMissingTicket(trackerFor(config), statement.ticket);
    if (!ticketCheck.found) ctx.out.note(`warning: ${ticketCheck.message}`);
    const result = await approveFile(file, signer, {
      config,
      ...(stringOption(ctx, 'inventory') ? { inventoryFile: stringOption(ctx, 'inventory') } : {}),
      ...(stringOption(ctx, 'expires') ? { expires: stringOption(ctx, 'expires') } : {}),
      ...(maxRuns !== undefined ? { maxRuns } : {}),
      // What is signed, window and run limit included, shown before the key is asked to sign.
      ...(ctx.out.json
        ? {}
        : { onBeforeSign: (view: SigningView) => ctx.out.print(signingText(view, ctx.out.style)) }),
    });
    if (ctx.out.json) {
      ctx.out.printJson({
        file,
        signatures: result.envelope.signatures.map((s) => s.keyid),
        statement: result.statement,
      });
      return exitCodes.ok;
    }
    const inventory = inventoryWords(stringOption(ctx, 'inventory'));
    ctx.out.print(
      `\nsigned ${file} as ${signer.publicKey.fingerprint}; it now carries ${result.envelope.signatures.length} signature(s).\n` +
        `Check it: ${commandHint(ctx, 'verify', file, ...inventory)}\n` +
        `Run it (the engineer, with their own key): ${commandHint(ctx, 'run', file, ...inventory, '--key', '~/.ssh/id_ed25519')}`,
    );
    return exitCodes.ok;
  },
});
