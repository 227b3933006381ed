import {
  clockSkewWarning,
  type MissedSlot,
  readScheduleReport,
  requireSchedules,
  type ScheduleEvent,
  type Scheduler,
  type ScheduleStatus,
  scheduleClockWarning,
  scheduleRunbookProblems,
  startScheduler,
} from '@opsbook/runner';
import { type Config, readDuration, UsageError } from '@opsbook/schema';
import { type LockHolder, sessionFacts } from '@opsbook/state';
import { type CommandContext, type CommandSpec, defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { sessionSql } from '../lock-holders-text.js';
import { formatTable, type Style } from '../output.js';
import { showControls, showControlsIn, showProblem } from '../terminal-safe.js';
import { executorOptions, executorSignerFor } from './ticket-signer.js';

const SETUP = `Schedules are in opsbook.yaml, each naming a routine runbook whose standing approval
standing: names, and a cron in UTC (minute hour day-of-month month day-of-week):

  schedules:
    daily-inspection: {runbook: daily-inspection, cron: "0 6 * * *", backfill: 6h}

They need the PostgreSQL state store (state: {kind: postgres, url: …} or OPSBOOK_DATABASE_URL,
then opsbook db migrate). See docs/schedules.md.`;

function describeEvent(e: Exclude<ScheduleEvent, { type: 'queue' }>): string {
  switch (e.type) {
    case 'slot-start':
      return `${e.slot} ${e.schedule}: starting${e.backfilled ? ' (backfilled: the scheduler was down at the slot)' : ''}`;
    case 'slot-end':
      return e.outcome === 'ran'
        ? `${e.slot} ${e.schedule}: run ${e.runId} ${e.runStatus}`
        : `${e.slot} ${e.schedule}: ${e.outcome === 'refused' ? 'refused' : 'not run'} (${e.code}): ${e.message}`;
    case 'slot-taken':
      return e.holders?.length
        ? `${e.slot} ${e.schedule}: not taken here: its lock opsbook-schedule-slot:${e.schedule}:${Date.parse(e.slot)} is held by ${e.holders.join('; ')}: another scheduler's session, which runs it, or a session keeping it from running (schedule list then reports it as missed)`
        : `${e.slot} ${e.schedule}: taken by another scheduler`;
    case 'slot-invalid':
      return `${e.slot} ${e.schedule}: not a slot of the schedule (a job queued by other means): ${e.message}`;
  }
}

/**
 * Slot events go to stdout (one line, or one JSON document, each); what the job queue says
 * (PostgreSQL gone, reconnecting) is a note on stderr, cut to its first line, as the worker's.
 */
function showEvent(ctx: CommandContext, e: ScheduleEvent): void {
  if (e.type === 'queue')
    ctx.out.note(`job queue ${e.level}: ${showControls(e.message.split('\n', 1)[0] ?? '')}`);
  else if (ctx.out.json) ctx.out.printJson(e);
  else ctx.out.print(describeEvent(showControlsIn(e)));
}

export const run: CommandSpec = defineCommand({
  options: executorOptions,
  details: `Runs until stopped (SIGTERM or Ctrl-C, at any time: stopped before "scheduler
started", it exits having queued nothing), queueing each schedule's slots with
graphile-worker's cron on the state store's database and running each slot as "opsbook inspect"
would: the standing approval is verified at every slot (signature, digest, expiry, selector,
ticket, runs left), and the run claim is signed with this machine's executor key (--key, --agent,
or ~/.ssh/id_ed25519), which approvers.yaml must list. Every slot is recorded: the run it
started, or the refusal that kept it from starting ("opsbook schedule list" reports those as
missed). Several schedulers may share one database: each slot runs once. A slot in the last
"backfill" (per schedule) that no scheduler took runs when one starts. One schedule's slots never
overlap: a slot that comes up while an earlier one still runs, or later than 2 minutes (or its
backfill), runs nothing and is recorded as refused (SCHEDULE_BUSY, SCHEDULE_SLOT_LATE). A slot
runs once: its run is recorded on the recurring ticket, and a slot the ticket records already is
refused (SCHEDULE_SLOT_RAN). A job in the queue for a minute the cron does not fire, or still to
come, runs nothing (slot-invalid). A scheduler killed in the middle of a slot holds nothing
back: the next one takes the next slot at once, and the killed slot is reported as abandoned.
One line per slot on stdout (--json: one JSON document per slot event).

${SETUP}`,
  async run(ctx) {
    const controller = new AbortController();
    let scheduler: Scheduler | undefined;
    let stoppedBy: NodeJS.Signals | undefined;
    const stop = (signal: NodeJS.Signals) => {
      if (stoppedBy) return;
      stoppedBy = signal;
      ctx.out.note(`${signal}: stopping; a run going on is interrupted and recorded so`);
      controller.abort();
      // done reports how the scheduler ended; a stop() refused (it had stopped by itself) adds nothing.
      scheduler?.stop().catch(() => undefined);
    };
    // Listened for from the start: a service manager may signal at any time, e.g. as soon as it
    // reads a warning or "scheduler started", and a signal with no listener yet ended the process
    // at once (killed by SIGTERM, whatever it was doing), not by the stop above.
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      const config = await configFor(ctx);
      requireSchedules(config);
      await warnScheduleRunbooks(ctx, config);
      const skew = await scheduleClockWarning(config, 'opsbook schedule run');
      if (skew) ctx.out.note(`warning: ${skew}`);
      const executorSigner = await executorSignerFor(ctx);
      // Stopped before it started: nothing was queued or run.
      if (!stoppedBy) {
        scheduler = await startScheduler({
          config,
          executorSigner,
          env: process.env,
          signal: controller.signal,
          onEvent: (e) => showEvent(ctx, e),
        });
        if (stoppedBy) scheduler.stop().catch(() => undefined);
        else
          ctx.out.note(
            `scheduler started for ${Object.keys(config.raw.schedules ?? {}).join(', ')}; stop with Ctrl-C or SIGTERM`,
          );
        await scheduler.done;
      }
    } finally {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    }
    return stoppedBy === 'SIGINT' ? exitCodes.interrupted : exitCodes.ok;
  },
});

/** One warning line per schedule naming no runbook of the library, or one that is not routine. */
async function warnScheduleRunbooks(ctx: CommandContext, config: Config): Promise<void> {
  for (const p of await scheduleRunbookProblems(config)) ctx.out.note(`warning: ${showProblem(p)}`);
}

function lastText(s: ScheduleStatus, style: Style): string {
  if (!s.last) return '-';
  const text = `${s.last.slot} ${s.last.runId ? `${s.last.runId} ` : ''}`;
  // A row whose run is not in the store as it says: what it says is not shown as the outcome.
  if (s.last.unverified !== undefined)
    return `${text}${style.red(`UNVERIFIED (row says ${s.last.status})`)}`;
  return `${text}${s.last.status}${s.last.code ? ` (${s.last.code})` : ''}`;
}

/**
 * A schedule whose lock a session holds while no slot of it goes on: who (as pg_stat_activity
 * tells it) and how to end it, for no scheduler will.
 */
function lockHeldText(schedule: string, holders: readonly LockHolder[]): string {
  const facts = holders.flatMap((h) =>
    h.pid === null ? [] : [sessionFacts({ ...h, pid: h.pid })],
  );
  const sql = sessionSql(holders);
  return `${schedule}: the lock opsbook-schedule:${schedule} is held while no slot of it goes on, so not by a scheduler at work (${facts.length ? facts.join('; ') : 'a prepared transaction: see pg_prepared_xacts'}): every slot is refused (SCHEDULE_BUSY) while it is held${sql ? `; if ${sql.sessions} should not hold it, look at ${sql.them} (${sql.look}) and end ${sql.them} (${sql.end})` : ''}`;
}

function missText(schedule: string, m: MissedSlot): string {
  if (m.reason === 'no-run' && m.heldBy) {
    const facts = m.heldBy.flatMap((h) =>
      h.pid === null ? [] : [sessionFacts({ ...h, pid: h.pid })],
    );
    const sql = sessionSql(m.heldBy);
    return `no scheduler took it: its lock opsbook-schedule-slot:${schedule}:${Date.parse(m.slot)} is held by a session that is not a scheduler at work (${facts.length ? facts.join('; ') : 'a prepared transaction: see pg_prepared_xacts'}), which kept every scheduler from it${sql ? `; if ${sql.sessions} should not hold it, look at ${sql.them} (${sql.look}) and end ${sql.them} (${sql.end})` : ''}`;
  }
  if (m.reason === 'no-run') return 'no scheduler took it';
  if (m.reason === 'abandoned') return `abandoned: ${m.message}`;
  return `${m.reason} (${m.code}): ${m.message}`;
}

export const list: CommandSpec = defineCommand({
  options: {
    since: {
      type: 'string',
      value: 'DURATION',
      default: '7d',
      description: 'how far back to look for missed slots, e.g. 24h or 7d',
    },
  },
  details: `For each schedule of opsbook.yaml: its next slot (UTC), its last slot (the run and its
status, or why it ran nothing) and every slot since --since that ran nothing: no scheduler took
it (down, and its backfill did not cover it), its run was refused (an expired or missing
standing approval, a ticket not Approved, runs used up, an earlier slot still running, too late)
or could not start, or its scheduler died in the middle of it (abandoned). A slot is given 2
minutes to start before it counts. APPROVAL is the schedule's standing approval verified here
and now, as a slot verifies it (signature against the trust pin, senior, digest, expiry,
selector; its ticket is checked at the slot): the database's rows are not taken for it. Exit 1
when a slot was missed, no scheduler has run a schedule, or a standing approval does not verify,
so that a monitoring check can alert on it. So does a schedule whose lock
(opsbook-schedule:NAME) a session holds while no slot of it goes on: that session (pid, user,
application, as pg_stat_activity tells) keeps every slot refused (SCHEDULE_BUSY); the line names
it and the SQL that ends it. So does a last slot whose run is not in the state store as its row
says: LAST shows UNVERIFIED when the run it names is missing, its journal does not verify against
the ledger (as runs show verifies it), or it is not the schedule's runbook's run ending as the
row says (the rows are anyone's with the database's credentials); a line says why.

${SETUP}`,
  async run(ctx) {
    const sinceText = stringOption(ctx, 'since') ?? '7d';
    const window = readDuration(sinceText, ['h', 'd']);
    if (!window)
      throw new UsageError(`--since must be a duration such as 24h or 7d, not '${sinceText}'`);
    const config = await configFor(ctx);
    const now = new Date();
    const report = await readScheduleReport(config, {
      now,
      since: new Date(now.getTime() - window.ms),
    });
    await warnScheduleRunbooks(ctx, config);
    const skew = clockSkewWarning(report.clockSkewMs);
    if (skew) ctx.out.note(`warning: ${skew}`);
    const code = report.hasMissed ? exitCodes.failed : exitCodes.ok;
    if (ctx.out.json) {
      ctx.out.printJson(report);
      return code;
    }
    if (!report.schedules.length) {
      ctx.out.note(`opsbook.yaml has no schedules\n\n${SETUP}`);
      return code;
    }
    const { style } = ctx.out;
    const view = showControlsIn(report.schedules);
    ctx.out.print(
      formatTable(
        ['SCHEDULE', 'RUNBOOK', 'CRON (UTC)', 'APPROVAL', 'NEXT', 'LAST', 'MISSED'],
        view.map((s) => [
          s.name,
          s.runbook,
          s.cron,
          s.approval.ok ? style.green('verified') : style.red(`refused (${s.approval.code})`),
          s.next ?? '-',
          lastText(s, style),
          s.state === 'unscheduled'
            ? style.red('no scheduler has run it')
            : s.missed.count
              ? style.red(String(s.missed.count))
              : style.green('0'),
        ]),
        style,
      ),
    );
    for (const s of view) {
      if (!s.approval.ok)
        ctx.out.print(
          style.red(
            `${s.name}: its standing approval does not verify (${s.approval.code}): ${s.approval.message}; every slot is refused until it does, whatever LAST says`,
          ),
        );
      if (s.lockHeldBy) ctx.out.print(style.red(lockHeldText(s.name, s.lockHeldBy)));
      if (s.last?.unverified !== undefined)
        ctx.out.print(
          style.red(
            `${s.name}: the run of its last slot ${s.last.slot} is unverified: ${s.last.unverified}`,
          ),
        );
      if (s.state === 'unscheduled')
        ctx.out.print(
          style.red(
            `${s.name}: no scheduler has run this schedule (with this cron): start opsbook schedule run`,
          ),
        );
      for (const m of s.missed.slots)
        ctx.out.print(style.red(`${s.name} missed ${m.slot}: ${missText(s.name, m)}`));
      if (s.missed.count > s.missed.slots.length)
        ctx.out.print(
          style.red(`${s.name}: ${s.missed.count - s.missed.slots.length} older missed slots`),
        );
    }
    return code;
  },
});
