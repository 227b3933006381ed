import { checkWorkerMachine, runWorker, type WorkerNotice } from '@opsbook/runner';
import { isOpsbookError, UsageError } from '@opsbook/schema';
import { type CommandContext, defineCommand, listOption, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { lockHolderText, sessionSql } from '../lock-holders-text.js';
import { hostKeyAcceptedText, hostRouteText } from '../run-view.js';
import { showControls as terminalSafe } from '../terminal-safe.js';

export default defineCommand({
  options: {
    zone: {
      type: 'string',
      multiple: true,
      value: 'ZONE',
      description: 'take the shards of this zone (opsbook_zone of the hosts)',
    },
    concurrency: {
      type: 'string',
      value: 'N',
      description: 'shards run at the same time (default 1; each fans out to its hosts)',
    },
    inventory: {
      type: 'string',
      short: 'i',
      value: 'FILE',
      description: 'inventory the runs were planned with',
    },
    'accept-new-host-keys': {
      type: 'boolean',
      description:
        "add unknown host keys to known_hosts (changed keys are still refused); each one is said and recorded in its run's journal",
    },
  },
  details: `Needs the PostgreSQL state store (opsbook.yaml state, or OPSBOOK_DATABASE_URL) and this
machine's own checkout, trust pin, inventory and known_hosts: every shard's approval is verified
here again, its hosts must be approved ones, and its run must be the one the store claimed, before
any host is touched. Secret params come from OPSBOOK_PARAM_<NAME> in this worker's environment.
A shard is tried once: if this worker dies, its hosts are reported, never run again. A job is
refused unless its zone is one of --zone and its hosts are of that zone by this inventory; the
hosts of each shard taken are recorded in this machine's state folder (worker-runs/), and never
run again in that run whatever the database says.
Ctrl-C (or SIGTERM) takes no new shard and starts no new step: running commands finish, the hosts
of a running shard that did not end are reported cancelled (retry them with --retry-failed), then
it exits (0 on SIGTERM, 130 on Ctrl-C). Stop a worker between runs; with several per zone, the
others take the next shards.
A shard that ends while the database is down waits for it to record its job's end (said once);
stopped meanwhile, the worker gives that end up and exits 4 (STATE_DB_UNREACHABLE).
A --zone that no host of the inventory is in is warned about at start, and so is this machine's
clock 30 s or more away from the database's (it judges approvals' validity windows). A host whose
port or user this machine's ~/.ssh/config chose (not the approved plan) is said, as run says it.`,
  async run(ctx) {
    const config = await configFor(ctx);
    const zones = listOption(ctx, 'zone');
    if (zones.length === 0)
      throw new UsageError('give the zones this worker serves: --zone dc1 (or --zone default)');
    const unnamed = zones.find((zone) => zone.trim() === '');
    if (unnamed !== undefined)
      throw new UsageError(
        `--zone '${unnamed}' names no zone: give the zones this worker serves, as the hosts' opsbook_zone names them: --zone dc1 (or --zone default)`,
      );
    // Options are checked before the machine (trust pin, inventory, database), so that a typo
    // is not found only after those are set up.
    const concurrency = concurrencyOf(ctx);
    const controller = new AbortController();
    let stoppedBy: NodeJS.Signals | undefined;
    const stop = (signal: NodeJS.Signals) => {
      stoppedBy ??= signal;
      ctx.out.note('stopping: no new shard or step starts; running commands finish');
      controller.abort();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const inventoryFile = stringOption(ctx, 'inventory');
    // Without the PostgreSQL store, runWorker says what to set; with it, this machine's trust
    // pin and inventory are checked before the worker says it is ready.
    const warnings =
      config.state.kind === 'postgres'
        ? await checkWorkerMachine({ config, zones, ...(inventoryFile ? { inventoryFile } : {}) })
        : [];
    try {
      await runWorker({
        config,
        zones,
        concurrency,
        env: process.env,
        acceptNewHostKeys: Boolean(ctx.options['accept-new-host-keys']),
        ...(inventoryFile ? { inventoryFile } : {}),
        signal: controller.signal,
        onNotice: workerNotes(ctx, warnings),
        onLog: (level, message) => {
          // A failed shard is already said in one line (job N refused); graphile-worker's own
          // "Failed task" line repeats it with a stack trace. Other lines are cut to their first.
          if ((level === 'error' || level === 'warning') && !message.startsWith('Failed task '))
            ctx.out.note(`job queue ${level}: ${terminalSafe(message.split('\n', 1)[0] ?? '')}`);
        },
      });
    } finally {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    }
    // As opsbook schedule run: a service stop (SIGTERM) is a normal end, Ctrl-C an interruption.
    return stoppedBy === 'SIGINT' ? exitCodes.interrupted : exitCodes.ok;
  },
});

function concurrencyOf(ctx: CommandContext): number {
  const text = stringOption(ctx, 'concurrency') ?? '1';
  if (!/^[0-9]+$/.test(text) || Number(text) < 1)
    throw new UsageError(`--concurrency ${text} is not a positive whole number`);
  return Number(text);
}

/**
 * One line per shard on stderr: taken, ended (with its hosts' statuses), refused, its end waiting
 * for the database and recorded once it answers; after the ready
 * line, the zones no host of the inventory is in; a zone lease another session of the database
 * keeps this worker from, and its taking after.
 */
function workerNotes(
  ctx: CommandContext,
  warnings: readonly string[],
): (notice: WorkerNotice) => void {
  const { out } = ctx;
  return (n) => {
    if (n.type === 'ready') {
      out.note(`worker ready for zone(s) ${n.zones.join(', ')} (queue pool ${n.poolId})`);
      for (const w of warnings) out.note(terminalSafe(`warning: ${w}`));
    } else if (n.type === 'host-key-accepted')
      out.note(`job ${n.jobId}: ${hostKeyAcceptedText(n.accepted)}`);
    else if (n.type === 'host-route') {
      // As run says it: only a route this machine's ~/.ssh/config chose a part of.
      if (n.route.fromSshConfig.length > 0) out.note(`job ${n.jobId}: ${hostRouteText(n.route)}`);
    } else if (n.type === 'shard-start')
      out.note(
        terminalSafe(
          `job ${n.jobId}: shard ${n.shard ?? '?'} of run ${n.runId ?? '?'} (${n.hosts?.length ?? 0} host(s)): verifying`,
        ),
      );
    else if (n.type === 'shard-end') {
      const hosts = n.hosts.map((h) => `${h.host} ${h.status}`).join(', ');
      out.note(
        terminalSafe(
          `job ${n.jobId}: shard ${n.shard} of run ${n.runId} (run by ${n.executor}) ended: ${hosts}`,
        ),
      );
    } else if (n.type === 'end-waiting')
      out.note(
        terminalSafe(
          `job ${n.jobId}: could not record its end in the database; retrying until it answers: ${n.error.message}`,
        ),
      );
    else if (n.type === 'end-recording')
      out.note(`job ${n.jobId}: the database answers again: recording its end`);
    else if (n.type === 'lease-waiting') out.note(terminalSafe(leaseWaitingNote(n)));
    else if (n.type === 'lease-taken')
      out.note(
        terminalSafe(
          `zone ${n.zone}: this worker took its zone lease ('${n.lease}'): the session that kept it let go`,
        ),
      );
    else {
      const e = n.error;
      const why = isOpsbookError(e)
        ? `${e.code}: ${e.message}`
        : e instanceof Error
          ? e.message
          : String(e);
      out.note(terminalSafe(`job ${n.jobId} refused: ${why}`));
    }
  };
}

/**
 * Who keeps this worker from its zone's lease, that the worker goes on and takes it once free,
 * and how to end that session. The zone's other workers hold the lease shared and never keep one
 * another from it.
 */
function leaseWaitingNote(n: Extract<WorkerNotice, { type: 'lease-waiting' }>): string {
  const who =
    n.holders.length > 0
      ? n.holders.map((h) => lockHolderText(h, 'it')).join('; ')
      : n.unreadable !== undefined
        ? `another session holds it exclusively (pg_locks could not be read: ${n.unreadable})`
        : 'another session held it exclusively a moment ago (pg_locks shows none now: it may just have let go)';
  const sql = sessionSql(n.holders);
  const todo = sql
    ? ` If ${sql.sessions} should not hold the lock, look at ${sql.them} (${sql.look}) and end ${sql.them} (${sql.end}).`
    : '';
  return (
    `zone ${n.zone}: this worker waits for its zone lease (the advisory lock '${n.lease}' on ${n.database}): ${who}. ` +
    `It still takes zone ${n.zone}'s shards meanwhile, but without the lease a run whose shard waits cannot count it: ` +
    `the lease is tried again every ${n.retryMs / 1000} s and taken once free.${todo}`
  );
}
