import {
  approveFile,
  bindingOf,
  checkTicketReady,
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
    const services = trackerFor(config);
    const ticketCheck = await refuseMissingTicket(services, statement.ticket);
    if (!ticketCheck.found) ctx.out.note(`warning: ${ticketCheck.message}`);
    const result = await approveFile(file, signer, {
      config,
      tracker: bindingOf(services.tracker),
      ...(stringOption(ctx, 'inventory') ? { inventoryFile: stringOption(ctx, 'inventory') } : {}),
      ...(stringOption(ctx, 'expires') ? { expires: stringOption(ctx, 'expires') } : {}),
      ...(maxRuns !== undefined ? { maxRuns } : {}),
      // What is signed, window and run limit included, shown before the key is asked to sign.
      ...(ctx.out.json
        ? {}
        : { onBeforeSign: (view: SigningView) => ctx.out.print(signingText(view, ctx.out.style)) }),
    });
    // The next steps must not promise a run that the ticket's status would refuse (a local
    // tracker's ticket is Open until the ticket flow moves it); the signature stands either way.
    const readiness = ticketCheck.found
      ? await checkTicketReady(services, result.statement)
      : undefined;
    if (ctx.out.json) {
      ctx.out.printJson({
        file,
        signatures: result.envelope.signatures.map((s) => s.keyid),
        statement: result.statement,
        ticket: {
          key: result.statement.ticket,
          ready: readiness?.ready ?? false,
          status: readiness?.status ?? null,
          ...(readiness && !readiness.ready ? { warning: readiness.message } : {}),
        },
      });
      return exitCodes.ok;
    }
    const inventory = inventoryWords(stringOption(ctx, 'inventory'));
    const verify = commandHint(ctx, 'verify', file, ...inventory);
    const lines = [
      `\nsigned ${file} as ${signer.publicKey.fingerprint}; it now carries ${result.envelope.signatures.length} signature(s).`,
    ];
    if (readiness && !readiness.ready) lines.push(`warning: ${readiness.message}`);
    if (readiness?.status === undefined || readiness.ready)
      lines.push(
        `Check it: ${verify}`,
        `Run it (the engineer, with their own key): ${commandHint(ctx, 'run', file, ...inventory, '--key', '~/.ssh/id_ed25519')}`,
      );
    // A ticket that carries another approval runs that one: the warning says what to do, and
    // no check of this file would start it.
    else if (!readiness.notCurrent) lines.push(`Check whether run can start: ${verify}`);
    ctx.out.print(lines.join('\n'));
    return exitCodes.ok;
  },
});
