import { preloadSsh2 } from '@opsbook/exec';
import {
  collectFindings,
  DEFAULT_SHARD_SIZE,
  type DistributedRunRequest,
  type RunDigest,
  type RunEvent,
  type RunOutcome,
  type RunRequest,
  type ShardNotice,
} from '@opsbook/runner';
import { type Config, UsageError } from '@opsbook/schema';
import { workerLease } from '@opsbook/state';
import { type CommandContext, type OptionSpec, stringOption } from '../command.js';
import { exitForRun } from '../exit-code.js';
import { tuneRunV8, v8TuningForRun } from '../heap-growth.js';
import { lockHolderText, sessionSql } from '../lock-holders-text.js';
import { askSecret } from '../prompt.js';
import { interruptible, openRunView, printRunOutcome } from '../run-view.js';
import { runningStepsOf } from '../running-steps.js';
import { showControls as terminalSafe } from '../terminal-safe.js';
import { executorOptions, executorSignerFor } from './ticket-signer.js';

/*
 * What `opsbook run FILE` and `opsbook ticket run KEY` share: they differ only in where the
 * approval comes from (a file, or the ticket) and how its ticket is checked.
 */

/** The options of every command that runs an approval. */
export const runOptions: Record<string, OptionSpec> = {
  ...executorOptions,
  inventory: {
    type: 'string',
    short: 'i',
    value: 'FILE',
    description: 'inventory the plan was made with',
  },
  'accept-new-host-keys': {
    type: 'boolean',
    description: 'add unknown host keys to known_hosts (changed keys are still refused)',
  },
  quiet: { type: 'boolean', short: 'q', description: 'no command output, only step results' },
  raw: {
    type: 'boolean',
    description: 'print command output as-is, control characters and escape sequences included',
  },
  verbose: { type: 'boolean', description: 'list every host in the summary, not only failed ones' },
  'retry-failed': {
    type: 'string',
    value: 'RUN_ID',
    description:
      'run only the hosts that did not end ok in that run of the same approval (uses a run like any other)',
  },
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
};

/** The --help text on what every run does with secrets, Ctrl-C and command output. */
export const runDetails = `Secret params come from OPSBOOK_PARAM_<NAME> in the environment. Ctrl-C stops new work:
running commands finish or time out, the run is recorded as interrupted (exit 130); a second
Ctrl-C stops at once (the journal then ends without run-end and verifies as incomplete).
Command output shows control characters as text (ESC as \\x1b), so a host cannot retitle, clear
or write the clipboard of your terminal; --raw passes them. A line longer than 65536 characters
is shown cut, marked so.

A run that reached no host (every host unreachable or refusing its host key, no step started
anywhere) does not use the approval, and its ticket stays In Progress: run it again once the
hosts can be reached. A run that started any step uses one of the approval's maxRuns, however it
ended. --retry-failed RUN_ID runs only the hosts that did not end ok (failed, unreachable,
cancelled, not started) in RUN_ID, an ended run of the same approval whose journal verifies;
it needs a run left like any run. While runs are left, a run that did not end ok leaves the
ticket In Progress for it.

With --distribute (PostgreSQL state store only) the run is verified, claimed and journaled here,
and its hosts run on the workers of their zone (opsbook worker --zone Z; the inventory variable
opsbook_zone, else zone default); each worker verifies the approval again with its own checkout
and trust pin. A worker that dies mid-shard: its hosts are reported unreachable (state unknown)
or not-started, never run twice. Secret params come from each worker's environment.`;

/** How a distributed run is cut and followed (`--distribute`, `--shard-size`). */
export type Distribution = Pick<DistributedRunRequest, 'shardSize' | 'onShard'>;

/**
 * Everything a run needs but its approval file and its ticket gate; `distribute` when the hosts
 * go to workers (runDistributed) instead of running here (runApproved).
 */
export type RunStart = Omit<RunRequest, 'approvalFile' | 'ticket'> & { distribute?: Distribution };

/** --distribute and --shard-size, checked: undefined when the run is not distributed. */
function distributionOf(ctx: CommandContext, config: Config): Distribution | undefined {
  const distribute = Boolean(ctx.options.distribute);
  const text = stringOption(ctx, 'shard-size');
  if (text !== undefined && !distribute)
    throw new UsageError('--shard-size goes with --distribute');
  if (!distribute) return undefined;
  if (config.state.kind !== 'postgres')
    throw new UsageError(
      "--distribute needs the team's PostgreSQL state store: set state: {kind: postgres, url: …} in opsbook.yaml or OPSBOOK_DATABASE_URL (then opsbook db migrate), and start opsbook worker --zone … processes",
    );
  if (text !== undefined && (!/^[0-9]+$/.test(text) || Number(text) < 1))
    throw new UsageError(`--shard-size ${text} is not a positive whole number of hosts`);
  return {
    ...(text !== undefined ? { shardSize: Number(text) } : {}),
    onShard: shardNotes(ctx),
  };
}

/**
 * A waiting shard whose zone's lease a session that is not a worker holds exclusively: no worker
 * can hold it then, so whether one is connected cannot be told; a worker takes shards all the same.
 */
function lockedNote(n: Extract<ShardNotice, { type: 'waiting' }>): string {
  const { zone } = n.shard;
  const lock = `the zone's lock ('${workerLease(zone)}')`;
  const sql = sessionSql(n.lockedBy);
  return (
    `shard ${n.shard.index} (zone ${zone}, ${n.shard.hosts.length} host(s)) waits for a worker: whether a worker of zone ${zone} is connected cannot be told: ` +
    `${n.lockedBy.map((h) => lockHolderText(h, lock)).join('; ')}. A worker of the zone takes shards all the same: if none runs, start one` +
    (sql ? `; if ${sql.sessions} should not hold the lock, end ${sql.them} (${sql.end})` : '')
  );
}

/** What the submitter says about its shards while it waits (stderr, never the result). */
function shardNotes(ctx: CommandContext): (notice: ShardNotice) => void {
  return (n) => {
    const shard = `shard ${n.shard.index} (zone ${n.shard.zone}, ${n.shard.hosts.length} host(s))`;
    if (n.type === 'waiting' && n.lockedBy.length > 0) ctx.out.note(terminalSafe(lockedNote(n)));
    else if (n.type === 'waiting')
      ctx.out.note(
        n.isWorkerConnected
          ? `${shard} waits for a worker: the workers of zone ${n.shard.zone} on this database are busy with other shards (start another opsbook worker --zone ${n.shard.zone} for more)`
          : `${shard} waits for a worker: no opsbook worker --zone ${n.shard.zone} is connected to ${n.database}; start one, or check that its opsbook.yaml state url (or OPSBOOK_DATABASE_URL) names this same database`,
      );
    else if (n.type === 'refused') ctx.out.note(`${shard} was refused by its worker: ${n.error}`);
    else if (n.type === 'withdrawn') ctx.out.note(`${shard} withdrawn: no worker had taken it`);
    else if (n.type === 'returned')
      ctx.out.note(
        terminalSafe(
          `${shard}: the worker that took it (${n.worker}) is gone and no host of it had started: given back to the queue, for a worker of zone ${n.shard.zone} to run once`,
        ),
      );
    else
      ctx.out.note(
        `${shard}: its worker stopped mid-shard; ${n.hosts.length} host(s) reported unreachable or not started, never run again`,
      );
  };
}

/**
 * Run an approval with the options of `runOptions`: the executor's key, Ctrl-C, live progress on
 * stderr, then the result table (or one JSON document); returns the exit code of the run's
 * status. `start` finds the approval and hands everything to the runner.
 */
export async function executeAndReport(
  ctx: CommandContext,
  config: Config,
  start: (run: RunStart) => Promise<RunOutcome>,
): Promise<number> {
  const distribute = distributionOf(ctx, config);
  // ssh2 and the Node modules it loads come before the heap cap: V8 refuses every code cache once
  // a flag changed (heap-growth.ts), so loaded after it they were compiled from source. The
  // executor's key file needs ssh2 anyway, and so does any SSH host.
  await preloadSsh2();
  tuneRunV8();
  const executorSigner = await executorSignerFor(ctx);
  const { out } = ctx;
  const view = await openRunView(out, {
    raw: Boolean(ctx.options.raw),
    quiet: Boolean(ctx.options.quiet),
  });
  const runningSteps = runningStepsOf();
  const { signal, stopSignal, done, ended } = interruptible(view.out, {
    distributed: Boolean(distribute),
    stopsCommands: !distribute,
    runningSteps: runningSteps.list,
  });
  const t0 = Date.now();
  // Inspection findings are counted as their steps end, for the last lines (counts only).
  const findings: RunDigest['findings'] = { counts: {}, notable: [] };
  let started: { runId: string; ticket?: string } | undefined;
  const tuneV8 = v8TuningForRun();
  const onEvent = (event: RunEvent) => {
    tuneV8(event);
    if (event.type === 'step-end' && event.result != null)
      collectFindings(event.result, event.host, findings);
    if (event.type === 'run-start') started = { runId: event.runId, ticket: event.ticket };
    runningSteps.onEvent(event);
    // Journaled: from here a second Ctrl-C leaves a run that has ended, not an incomplete one.
    if (event.type === 'run-end' && started) ended(started);
    view.onEvent(event);
  };
  try {
    const inventoryFile = stringOption(ctx, 'inventory');
    const retryOf = stringOption(ctx, 'retry-failed');
    const outcome = await start({
      config,
      executorSigner,
      ...(inventoryFile ? { inventoryFile } : {}),
      ...(retryOf !== undefined ? { retryOf } : {}),
      ...(distribute ? { distribute } : {}),
      env: process.env,
      // A secret typed here never reaches the shell's history, as a value on a command line would.
      askSecret: (name, variable) => askSecret(`secret param ${name} (${variable}, not echoed): `),
      acceptNewHostKeys: Boolean(ctx.options['accept-new-host-keys']),
      signal,
      ...(distribute ? {} : { stopSignal }),
      onEvent,
      ...(view.onOutput ? { onOutput: view.onOutput } : {}),
    });
    view.close();
    if (out.json)
      out.printJson({
        runId: outcome.runId,
        status: outcome.status,
        hosts: outcome.result.hosts,
        journal: outcome.journal,
        ticket: outcome.ticket,
        ...(outcome.retryOf ? { retryOf: outcome.retryOf } : {}),
        approvalUse: outcome.approvalUse,
        ...(Object.keys(findings.counts).length ? { findings: findings.counts } : {}),
      });
    else
      printRunOutcome(out, outcome, (Date.now() - t0) / 1000, {
        verbose: Boolean(ctx.options.verbose),
        findings: findings.counts,
        quiet: Boolean(ctx.options.quiet),
      });
    return exitForRun[outcome.status];
  } finally {
    view.close();
    done();
  }
}
