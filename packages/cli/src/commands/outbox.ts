import { openTracker } from '@opsbook/runner';
import { UsageError } from '@opsbook/schema';
import type { OutboxEntry } from '@opsbook/tracker';
import { type CommandSpec, defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { formatTable, type Output } from '../output.js';
import { showControls } from '../terminal-safe.js';

/** What an entry writes, as list shows it: `attach run.journal.jsonl`, `transition → In Review`. */
function writeLabel(e: OutboxEntry): string {
  return e.write.kind === 'transition'
    ? `transition → ${e.write.status}`
    : e.write.kind === 'attach'
      ? `attach ${e.write.filename}`
      : e.write.kind;
}

function entriesTable(out: Output, entries: OutboxEntry[]): string {
  return formatTable(
    ['ID', 'TICKET', 'WRITE', 'STATE', 'ATTEMPTS', 'QUEUED', 'LAST ERROR'],
    entries.map((e) => [
      e.id.slice(0, 8),
      e.ticket,
      writeLabel(e),
      e.state,
      String(e.attempts),
      e.queuedAt,
      e.lastError?.code ?? '',
    ]),
    out.style,
  );
}

export const list: CommandSpec = defineCommand({
  async run(ctx) {
    const config = await configFor(ctx);
    const entries = await openTracker(config, process.env).outbox.list();
    if (ctx.out.json) ctx.out.printJson({ entries });
    else if (!entries.length) ctx.out.print('the outbox is empty: every write reached the tracker');
    else ctx.out.print(entriesTable(ctx.out, entries));
    return exitCodes.ok;
  },
});

export const flush: CommandSpec = defineCommand({
  options: {
    ticket: { type: 'string', value: 'KEY', description: 'only this ticket' },
    'retry-failed': {
      type: 'boolean',
      description: 'also retry writes the tracker refused before',
    },
  },
  details: `Exit 0 when everything was delivered, 4 when the tracker still does not answer (the writes
stay queued), 3 when it refused some for good (fix the cause, then --retry-failed).`,
  async run(ctx) {
    const config = await configFor(ctx);
    const ticket = stringOption(ctx, 'ticket');
    const report = await openTracker(config, process.env).outbox.flush({
      ...(ticket ? { ticket } : {}),
      retryFailed: Boolean(ctx.options['retry-failed']),
    });
    const { out } = ctx;
    if (out.json)
      out.printJson({
        delivered: report.delivered.map((d) => ({
          id: d.entry.id,
          ticket: d.key,
          write: d.entry.write.kind,
          result: d.result,
          ...(d.warning ? { warning: d.warning } : {}),
        })),
        pending: report.pending,
        failed: report.failed,
      });
    else {
      out.print(
        `delivered ${report.delivered.length} write(s); ${report.pending.length} still waiting; ${report.failed.length} refused`,
      );
      const left = [...report.pending, ...report.failed];
      if (left.length) out.print(entriesTable(out, left));
      for (const f of report.failed)
        if (f.lastError) out.note(`${f.ticket}: ${f.lastError.message}`);
      // Jira's words are not ours.
      for (const d of report.delivered)
        if (d.warning) out.note(`warning: ${showControls(d.warning)}`);
    }
    return report.failed.length
      ? exitCodes.refused
      : report.pending.length
        ? exitCodes.unreachable
        : exitCodes.ok;
  },
});

/** The one entry `id` names: the whole id, or a prefix of at least 8 characters as list shows. */
function entryNamed(entries: readonly OutboxEntry[], id: string): OutboxEntry {
  const found = id.length >= 8 ? entries.filter((e) => e.id.startsWith(id)) : [];
  if (found.length === 1) return found[0]!;
  throw new UsageError(
    found.length > 1
      ? `${id} names ${found.length} outbox entries: give more of the id (opsbook outbox list --json)`
      : `there is no outbox entry ${id}: opsbook outbox list shows the ids (at least their first 8 characters)`,
  );
}

export const drop: CommandSpec = defineCommand({
  args: '<id>',
  positionals: { min: 1, max: 1 },
  details: `Forgets one write the tracker refused for good (state failed, e.g. a file over Jira's
attachment size limit), so that the writes to its ticket queued behind it go out on the next
opsbook outbox flush. A write still to be delivered is not dropped. A dropped attachment's file
stays in the state store (the run's journal and evidence).`,
  async run(ctx) {
    const config = await configFor(ctx);
    const { outbox } = openTracker(config, process.env);
    const entry = entryNamed(await outbox.list(), ctx.positionals[0]!);
    const what = writeLabel(entry);
    await outbox.drop(entry);
    ctx.out.print(
      showControls(
        `dropped ${entry.id}: ${what} to ${entry.ticket} (${entry.lastError?.code ?? 'refused'}); opsbook outbox flush sends the ticket's writes queued behind it`,
      ),
    );
    return exitCodes.ok;
  },
});
