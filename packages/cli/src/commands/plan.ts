import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  checkTicketExists,
  createPlan,
  readApprovalFile,
  rederivePlan,
  scriptsOf,
  serializeApproval,
  trackerBinding,
} from '@opsbook/runner';
import { makeDirectory, UsageError } from '@opsbook/schema';
import { defineCommand, listOption, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { commandHint, inventoryWords } from '../hint.js';
import { maxRunsOption } from '../max-runs.js';
import { planText } from '../plan-view.js';
import { trackerFor } from '../tracker-services.js';
import { executorSignerFor, proposerOptions } from './ticket-signer.js';

export default defineCommand({
  args: '<runbook> | --show FILE',
  positionals: { min: 0, max: 1 },
  options: {
    ...proposerOptions,
    ticket: {
      type: 'string',
      value: 'KEY',
      description: 'the ticket this run belongs to (e.g. OPS-123)',
    },
    param: {
      type: 'string',
      value: 'NAME=VALUE',
      multiple: true,
      description: 'a param value (secret params come from the environment at run time)',
    },
    target: {
      type: 'string',
      value: 'PATTERN',
      description: "hosts, as an Ansible pattern (default: the runbook's targets)",
    },
    inventory: {
      type: 'string',
      short: 'i',
      value: 'FILE',
      description: 'inventory file or folder (default: opsbook.yaml inventory, else localhost)',
    },
    output: {
      type: 'string',
      short: 'o',
      value: 'FILE',
      description: 'where to write the approval (default: TICKET.RUNBOOK.approval.json)',
    },
    expires: {
      type: 'string',
      value: 'DURATION',
      description: 'validity from now, e.g. 24h or 7d (default 24h)',
    },
    'max-runs': {
      type: 'string',
      value: 'N',
      description: 'how many runs the approval allows (default 1)',
    },
    executor: {
      type: 'string',
      value: 'ID',
      description: 'only this person may run it (their approvers.yaml id)',
    },
    standing: {
      type: 'boolean',
      description:
        "a standing approval of a routine runbook: approve the --target selector, not today's host list",
    },
    force: { type: 'boolean', description: 'overwrite the output file' },
    show: {
      type: 'string',
      value: 'FILE',
      description:
        'print what a reviewer must see of an approval file, re-rendered from this checkout',
    },
  },
  details: `Examples:
  opsbook plan disk-cleanup --ticket OPS-42 --param days=14 --target 'web:&prod' -i inventory/hosts.yaml
  opsbook plan --show OPS-42.disk-cleanup.approval.json -i inventory/hosts.yaml

The approval file binds the ticket, the runbook version and digest, the params, the exact hosts
and the digest of every rendered command. A senior signs it with opsbook approve.`,
  async run(ctx) {
    const config = await configFor(ctx);
    const inventoryFile = stringOption(ctx, 'inventory');
    const show = stringOption(ctx, 'show');
    if (show) {
      if (ctx.positionals.length)
        throw new UsageError('give either a runbook to plan or --show FILE, not both');
      const approval = await readApprovalFile(show);
      const derived = await rederivePlan(approval.statement, config, inventoryFile);
      const signed = approval.statement.plan?.digest;
      const matches = !signed || signed === derived.planDigest;
      if (ctx.out.json) {
        ctx.out.printJson({
          file: show,
          statement: approval.statement,
          plan: derived.plan,
          planDigest: derived.planDigest,
          matches,
          signatures: approval.envelope.signatures.map((s) => s.keyid),
        });
      } else {
        ctx.out.print(
          planText(
            derived.plan,
            derived.planDigest,
            ctx.out.style,
            approval.statement,
            await scriptsOf(derived),
          ),
        );
        ctx.out.print(
          `\nsignatures: ${approval.envelope.signatures.map((s) => s.keyid).join(', ') || 'none yet'}`,
        );
        if (!matches)
          ctx.out.print(
            ctx.out.style.red(
              `\nthe file's plan digest ${signed} differs from what this checkout renders: do not sign; ask for a new plan`,
            ),
          );
      }
      return matches ? exitCodes.ok : exitCodes.refused;
    }
    const runbook = ctx.positionals[0];
    if (!runbook)
      throw new UsageError(
        'name the runbook to plan (opsbook list shows them), or give --show FILE',
      );
    const ticket = stringOption(ctx, 'ticket');
    if (!ticket)
      throw new UsageError(
        'every run belongs to a ticket: add --ticket KEY (e.g. --ticket OPS-123)',
      );
    const maxRuns = maxRunsOption(ctx);
    const result = await createPlan({
      config,
      runbook,
      ticket,
      params: listOption(ctx, 'param'),
      proposerSigner: () => executorSignerFor(ctx, 'proposal'),
      tracker: trackerBinding(config, process.env),
      ...(stringOption(ctx, 'target') ? { target: stringOption(ctx, 'target') } : {}),
      ...(inventoryFile ? { inventoryFile } : {}),
      ...(stringOption(ctx, 'expires') ? { expires: stringOption(ctx, 'expires') } : {}),
      ...(maxRuns ? { maxRuns } : {}),
      ...(stringOption(ctx, 'executor') ? { executor: stringOption(ctx, 'executor') } : {}),
      ...(ctx.options.standing ? { standing: true } : {}),
    });
    // Checked once the plan renders, so that a mistake in the command is reported first.
    const ticketCheck = await checkTicketExists(trackerFor(config), ticket);
    if (!ticketCheck.found) {
      if (ticketCheck.missing)
        throw new UsageError(
          `${ticketCheck.message}: open it first (opsbook ticket open), or name an existing one with --ticket`,
        );
      ctx.out.note(`warning: ${ticketCheck.message}`);
    }
    const file = stringOption(ctx, 'output') ?? `${ticket}.${result.bundle.name}.approval.json`;
    if (
      !ctx.options.force &&
      (await access(file).then(
        () => true,
        () => false,
      ))
    ) {
      throw new UsageError(
        `${file} already exists: choose another --output, or --force to replace it (its signatures would be lost)`,
      );
    }
    // The folder is created like `git` creates a path for `-o`: approvals/ is where the
    // standing-approval hint tells seniors to put them, and need not exist yet.
    await makeDirectory(path.dirname(path.resolve(file)))
      .then(() => writeFile(file, serializeApproval(result.envelope)))
      .catch((e: NodeJS.ErrnoException) => {
        throw new UsageError(
          `cannot write ${file} (${e.code ?? e.message}): choose a writable --output path`,
        );
      });
    if (ctx.out.json) {
      ctx.out.printJson({
        file: path.resolve(file),
        statement: result.statement,
        plan: result.plan,
        planDigest: result.planDigest,
      });
      return exitCodes.ok;
    }
    ctx.out.print(planText(result.plan, result.planDigest, ctx.out.style, result.statement));
    const inventory = inventoryWords(inventoryFile);
    ctx.out.print(
      `\nwrote ${file} (unsigned). Next: a senior reviews it (${commandHint(ctx, 'plan', '--show', file, ...inventory)}) and signs it:\n  ${commandHint(ctx, 'approve', file, ...inventory, '--key', '~/.ssh/id_ed25519')}     (or --agent instead of --key)`,
    );
    return exitCodes.ok;
  },
});
