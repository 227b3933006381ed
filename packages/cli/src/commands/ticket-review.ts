import {
  approveTicket,
  proposeTicket,
  rejectTicket,
  type SigningView,
  seniorChoicesOf,
  signingDeclined,
} from '@opsbook/runner';
import { UsageError } from '@opsbook/schema';
import {
  type CommandContext,
  type CommandSpec,
  defineCommand,
  listOption,
  stringOption,
} from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { maxRunsOption } from '../max-runs.js';
import { planText, signingText } from '../plan-view.js';
import { askLine } from '../prompt.js';
import { ticketReportText } from '../run-view.js';
import { trackerFor } from '../tracker-services.js';
import { executorSignerFor, proposerOptions, signerFor, signerOptions } from './ticket-signer.js';

/** --inventory, --expires and --max-runs: what both the proposer and the senior may set. */
function approvalOptions(ctx: CommandContext) {
  const maxRuns = maxRunsOption(ctx);
  const [inventoryFile, expires] = ['inventory', 'expires'].map((o) => stringOption(ctx, o));
  return {
    ...(inventoryFile ? { inventoryFile } : {}),
    ...(expires ? { expires } : {}),
    ...(maxRuns ? { maxRuns } : {}),
  };
}

export const propose: CommandSpec = defineCommand({
  args: '<KEY>',
  positionals: { min: 1, max: 1 },
  options: {
    ...proposerOptions,
    runbook: { type: 'string', value: 'NAME', description: 'the runbook to run (opsbook list)' },
    param: { type: 'string', value: 'NAME=VALUE', multiple: true, description: 'a param value' },
    target: {
      type: 'string',
      value: 'PATTERN',
      description: "hosts, as an Ansible pattern (default: the runbook's)",
    },
    inventory: {
      type: 'string',
      short: 'i',
      value: 'FILE',
      description: 'inventory file or folder',
    },
    senior: {
      type: 'string',
      value: 'ID',
      description:
        'who reviews: their approvers.yaml id, or Cloud accountId / DC user name / local name',
    },
    expires: {
      type: 'string',
      value: 'DURATION',
      description: 'validity once signed, e.g. 24h (default 24h)',
    },
    'max-runs': {
      type: 'string',
      value: 'N',
      description: 'how many runs the approval allows (default 1)',
    },
    standing: {
      type: 'boolean',
      description:
        "a standing approval of a routine runbook for a recurring ticket: approve the --target selector, not today's host list (as plan --standing)",
    },
  },
  details: `Examples:
  opsbook ticket propose OPS-42 --runbook disk-cleanup --param days=14 --target 'db-3' -i inventory/hosts.yaml --senior sam
  opsbook ticket propose OPS-1 --runbook daily-inspection --standing --target all --expires 90d --max-runs 1000 --senior sam

The unsigned approval and the rendered plan are attached; the comment lists every command per
host and phase, so the senior reviews exactly what will run. Once approved, a standing approval
is saved where opsbook.yaml's standing: names it with opsbook ticket approval KEY
(docs/routine-work.md).`,
  async run(ctx) {
    const key = ctx.positionals[0]!;
    const runbook = stringOption(ctx, 'runbook');
    const senior = stringOption(ctx, 'senior');
    if (!runbook)
      throw new UsageError(
        'name the runbook to propose with --runbook NAME (opsbook list shows them)',
      );
    const config = await configFor(ctx);
    if (!senior) {
      const choices = await seniorChoicesOf(config);
      throw new UsageError(
        `name the senior who reviews with --senior ID (their approvers.yaml id, or their tracker account)${choices ? `: ${choices}` : ''}`,
      );
    }
    const options = approvalOptions(ctx);
    const target = stringOption(ctx, 'target');
    const result = await proposeTicket({
      services: trackerFor(config),
      config,
      key,
      runbook,
      senior,
      params: listOption(ctx, 'param'),
      proposerSigner: await executorSignerFor(ctx, 'proposal'),
      ...(target ? { target } : {}),
      ...(ctx.options.standing ? { standing: true } : {}),
      ...options,
    });
    if (ctx.out.json) {
      ctx.out.printJson({
        key,
        proposal: { ...result.proposal, envelope: undefined },
        plan: result.plan,
        report: result.report,
      });
      return exitCodes.ok;
    }
    ctx.out.print(planText(result.plan, result.planDigest, ctx.out.style, result.statement));
    ctx.out.print(`\nproposed on ${key} for ${senior}; ${ticketReportText(result.report)}`);
    ctx.out.print(
      `next: ${senior} reviews the commands above and signs them: opsbook ticket approve ${key} --key ~/.ssh/id_ed25519 --plan-digest ${result.planDigest.slice(0, 'sha256:'.length + 12)} (or --agent)`,
    );
    return exitCodes.ok;
  },
});

export const approve: CommandSpec = defineCommand({
  args: '<KEY>',
  positionals: { min: 1, max: 1 },
  options: {
    ...signerOptions,
    inventory: {
      type: 'string',
      short: 'i',
      value: 'FILE',
      description: 'inventory to re-render the plan with',
    },
    expires: {
      type: 'string',
      value: 'DURATION',
      description: 'validity from now (first signature only)',
    },
    'max-runs': { type: 'string', value: 'N', description: 'runs allowed (first signature only)' },
    reviewer: {
      type: 'string',
      value: 'ID',
      description:
        'the senior (approvers.yaml id) the ticket goes to at In Review (default: you; the acceptance needs a senior who neither proposed, approved nor ran it)',
    },
    'plan-digest': {
      type: 'string',
      value: 'DIGEST',
      description:
        'the plan digest you reviewed in the proposal comment (sha256: and at least 12 hex digits): any other plan is refused',
    },
    yes: {
      type: 'boolean',
      short: 'y',
      description: 'sign without asking on a terminal (the plan is still printed)',
    },
  },
  details: `Examples:
  opsbook ticket show OPS-42 --comments            read the proposal comment: commands, plan digest
  opsbook ticket approve OPS-42 --key ~/.ssh/id_ed25519 --plan-digest sha256:143253a1b2c3

What is signed is the envelope the proposal carries, and only when it is the plan proposed: its
approval id and plan digest must be the proposal's and those of the proposal comment
(PROPOSAL_TAMPERED otherwise), and --plan-digest pins the digest you reviewed (PLAN_NOT_REVIEWED).
The plan is re-rendered from your checkout and must have that digest: you sign what you reviewed.
On a terminal the plan is printed and you are asked before the key signs (default no; --yes does
not ask); without a terminal, or with --json, nothing is asked. The proposer cannot approve. A
grade that needs two signatures stays Awaiting Approval until the second senior signs.`,
  async run(ctx) {
    const key = ctx.positionals[0]!;
    const config = await configFor(ctx);
    const options = approvalOptions(ctx);
    const reviewer = stringOption(ctx, 'reviewer');
    const planDigest = stringOption(ctx, 'plan-digest');
    const result = await approveTicket({
      services: trackerFor(config),
      config,
      key,
      signer: await signerFor(ctx),
      ...options,
      ...(reviewer ? { reviewer } : {}),
      ...(planDigest !== undefined ? { planDigest } : {}),
      // What is signed, window and run limit included, shown before the key is asked to sign.
      ...(ctx.out.json
        ? {}
        : {
            onBeforeSign: async (view: SigningView) => {
              ctx.out.print(signingText(view, ctx.out.style));
              if (!ctx.options.yes) await confirmSigning(key, view);
            },
          }),
    });
    if (ctx.out.json) {
      ctx.out.printJson({
        key,
        approvalId: result.approval.approvalId,
        signers: result.approval.signers,
        complete: result.approval.complete,
        report: result.report,
      });
      return exitCodes.ok;
    }
    ctx.out.print(
      `\n${result.approval.complete ? 'approved' : 'signed (more signatures needed)'} ${key} as ${result.signer.name}; ${ticketReportText(result.report)}`,
    );
    if (result.approval.complete && 'selector' in result.statement.targets)
      ctx.out.print(
        `Next, the engineer saves this standing approval where opsbook.yaml's standing: names it: opsbook ticket approval ${key}`,
      );
    else if (result.approval.complete)
      ctx.out.print(`next: the engineer runs it: opsbook ticket run ${key}`);
    return exitCodes.ok;
  },
});

/**
 * On a terminal, the senior says yes to the plan just printed before their key signs it (no
 * terminal: nothing is asked, as scripts and --yes want).
 */
async function confirmSigning(key: string, view: SigningView): Promise<void> {
  const hosts = view.plan.hosts.length;
  const answer = await askLine(
    `Sign this plan (${view.planDigest.slice(0, 'sha256:'.length + 12)}…, ${hosts} host${hosts === 1 ? '' : 's'}) for ${key}? [y/N] `,
    `nothing was signed and ${key} is unchanged`,
  );
  if (answer === undefined || /^\s*y(es)?\s*$/i.test(answer)) return;
  throw signingDeclined(key);
}

export const reject: CommandSpec = defineCommand({
  args: '<KEY>',
  positionals: { min: 1, max: 1 },
  options: {
    ...signerOptions,
    reason: {
      type: 'string',
      value: 'TEXT',
      description: 'why the plan is refused (links become links)',
    },
    'need-data': {
      type: 'string',
      value: 'TEXT',
      description: 'what evidence is missing before you can decide',
    },
  },
  async run(ctx) {
    const key = ctx.positionals[0]!;
    const reason = stringOption(ctx, 'reason');
    const needData = stringOption(ctx, 'need-data');
    if ((reason === undefined) === (needData === undefined))
      throw new UsageError('give exactly one of --reason TEXT or --need-data TEXT');
    const config = await configFor(ctx);
    const report = await rejectTicket({
      services: trackerFor(config),
      config,
      key,
      signer: await signerFor(ctx),
      text: (reason ?? needData)!,
      needData: needData !== undefined,
    });
    if (ctx.out.json) ctx.out.printJson({ key, report });
    else
      ctx.out.print(
        `${key} back to the engineer; ${ticketReportText(report)}\nnext: the engineer ${needData !== undefined ? `adds what is asked (opsbook ticket comment ${key} --text … --attach FILE) and proposes again` : 'proposes a plan that answers the reason'} (opsbook ticket propose ${key} …)`,
      );
    return exitCodes.ok;
  },
});
