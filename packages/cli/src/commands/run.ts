import {
  DEFAULT_SHARD_SIZE,
  openTracker,
  runApproved,
  runDistributed,
  type ShardNotice,
  TicketGate,
  verifyApprovalFile,
} from '@opsbook/runner';
import { type Config, UsageError } from '@opsbook/schema';
import { stateStoreOf } from '@opsbook/state';
import { type CommandContext, defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { planText } from '../plan-view.js';
import { executeAndReport, runDetails, runOptions } from './execute-and-report.js';

function shardSizeOf(ctx: CommandContext): number | undefined {
  const text = stringOption(ctx, 'shard-size');
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n < 1)
    throw new UsageError(`--shard-size ${text} is not a positive whole number of hosts`);
  return n;
}

/** What the submitter says about its shards while it waits (stderr, never the result). */
function shardNotes(ctx: CommandContext): (notice: ShardNotice) => void {
  return (n) => {
    const shard = `shard ${n.shard.index} (zone ${n.shard.zone}, ${n.shard.hosts.length} host(s))`;
    if (n.type === 'waiting')
      ctx.out.note(`${shard} waits for a worker: start opsbook worker --zone ${n.shard.zone}`);
    else if (n.type === 'refused') ctx.out.note(`${shard} was refused by its worker: ${n.error}`);
    else if (n.type === 'withdrawn') ctx.out.note(`${shard} withdrawn: no worker had taken it`);
    else
      ctx.out.note(
        `${shard}: its worker stopped mid-shard; ${n.hosts.length} host(s) reported unreachable or not started, never run again`,
      );
  };
}

export default defineCommand({
  args: '<approval-file>',
  positionals: { min: 1, max: 1 },
  options: {
    ...runOptions,
    'dry-run': { type: 'boolean', description: 'verify and print the plan, touch nothing' },
    distribute: {
      type: 'boolean',
      description:
        'queue the hosts in shards for opsbook worker processes (by opsbook_zone), follow the run, exit with its code',
    },
    'shard-size': {
      type: 'string',
      value: 'N',
      description: `hosts per shard with --distribute (default ${DEFAULT_SHARD_SIZE})`,
    },
  },
  details: `${runDetails}
With --distribute (PostgreSQL state store only) the run is verified, claimed and journaled here,
and its hosts run on the workers of their zone (opsbook worker --zone Z; the inventory variable
opsbook_zone, else zone default); each worker verifies the approval again with its own checkout
and trust pin. A worker that dies mid-shard: its hosts are reported unreachable (state unknown)
or not-started, never run twice. Secret params come from each worker's environment.`,
  async run(ctx) {
    const config = await configFor(ctx);
    const file = ctx.positionals[0]!;
    if (ctx.options['dry-run']) {
      if (stringOption(ctx, 'retry-failed') !== undefined)
        throw new UsageError('--retry-failed runs hosts: it does not go with --dry-run');
      return dryRun(ctx, config, file);
    }
    const distribute = Boolean(ctx.options.distribute);
    const shardSize = shardSizeOf(ctx);
    if (shardSize !== undefined && !distribute)
      throw new UsageError('--shard-size goes with --distribute');
    if (distribute && config.state.kind !== 'postgres')
      throw new UsageError(
        "--distribute needs the team's PostgreSQL state store: set state: {kind: postgres, url: …} in opsbook.yaml or OPSBOOK_DATABASE_URL (then opsbook db migrate), and start opsbook worker --zone … processes",
      );
    return executeAndReport(ctx, config, (run) =>
      (distribute ? runDistributed : runApproved)({
        ...run,
        ...(shardSize !== undefined ? { shardSize } : {}),
        ...(distribute ? { onShard: shardNotes(ctx) } : {}),
        approvalFile: file,
        // Every run is tied to its ticket: checked first, told the results at the end.
        ticket: new TicketGate({
          services: openTracker(config, process.env),
          store: stateStoreOf(config),
          signal: run.signal,
        }),
      }),
    );
  },
});

/** Verify the approval and print its plan; nothing is executed. */
async function dryRun(ctx: CommandContext, config: Config, file: string): Promise<number> {
  const inventoryFile = stringOption(ctx, 'inventory');
  const { out } = ctx;
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
  return exitCodes.ok;
}
