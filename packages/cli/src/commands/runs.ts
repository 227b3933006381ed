import { UsageError } from '@opsbook/schema';
import { filterRuns, type JournalLine, stateViewOf } from '@opsbook/state';
import { type CommandContext, type CommandSpec, defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { hostSelectionOptions } from '../host-selection.js';
import { damageJson, endOfView } from '../ledger-damage.js';
import { formatTable, type Style } from '../output.js';
import { RUN_STATES, runFilterOf, runInventoryOptions, runTimeOptions } from '../run-filter.js';
import { showControlsIn } from '../terminal-safe.js';

export const list: CommandSpec = defineCommand({
  options: {
    ticket: { type: 'string', value: 'KEY', description: 'only the runs of this ticket' },
    runbook: { type: 'string', value: 'NAME', description: 'only the runs of this runbook' },
    status: {
      type: 'string',
      value: 'STATE',
      description: `only the runs in this state (${RUN_STATES.join(', ')})`,
    },
    ...hostSelectionOptions,
    ...runInventoryOptions,
    ...runTimeOptions,
    limit: { type: 'string', value: 'N', description: 'at most the N newest runs' },
  },
  details: `Lists the runs of the state store, newest first: the files under stateDir, or with
the PostgreSQL store (state: in opsbook.yaml, OPSBOOK_DATABASE_URL) every run of the team.
--host and --group keep the runs that touched one of those hosts (of the inventory's groups).

Each run's first and last journal events are checked against their hashes and what the store
recorded at the run's end (last hash, event count, status): a run whose journal disagrees is
listed as tampered, with a note naming opsbook journal verify <run-id>, which checks the whole
chain (as runs show, stats, report and catalog do for every journal they read).

A run without an end is running while its runner still runs (the files store asks this
machine for the process; the PostgreSQL store sees the runner's session lock), and
incomplete when it does not: killed or crashed (runs show says where it stopped), or run
from another machine sharing the files store, which cannot be asked: the list then names that
machine (runnerHost in --json), where the run may still be running.

Examples:
  opsbook runs list --ticket OPS-42
  opsbook runs list --group db --since 7d --status failed
  opsbook runs list --limit 20 --json`,
  async run(ctx) {
    const config = await configFor(ctx);
    const filter = await runFilterOf(ctx, config, new Date());
    const limit = limitOf(ctx);
    const store = stateViewOf(config);
    const all = await store.listRuns();
    const runs = filterRuns(all, filter).slice(0, limit);
    if (ctx.out.json) {
      ctx.out.printJson({ runs, ...damageJson(store) });
      return endOfView(ctx, store, exitCodes.ok);
    }
    if (!runs.length) {
      ctx.out.note(
        all.length === 0
          ? `no runs in ${store.location} yet`
          : `none of the ${all.length} run(s) in ${store.location} match`,
      );
      return endOfView(ctx, store, exitCodes.ok);
    }
    ctx.out.print(
      formatTable(
        ['RUN', 'STATUS', 'TICKET', 'RUNBOOK', 'HOSTS', 'STARTED'],
        showControlsIn(runs).map((r) => [
          r.runId,
          r.status,
          r.ticket ?? '',
          r.runbook ? `${r.runbook} ${r.version ?? ''}` : '',
          Object.entries(r.hosts.byOutcome)
            .map(([k, n]) => `${n} ${k}`)
            .join(', ') || `${r.hosts.total}`,
          r.startedAt ?? '',
        ]),
        ctx.out.style,
      ),
    );
    for (const r of showControlsIn(runs.filter((x) => x.status === 'tampered')))
      ctx.out.note(
        `run ${r.runId} is not shown as it ended: ${r.problem ?? 'its journal does not verify'}; see opsbook journal verify ${r.runId}`,
      );
    for (const r of showControlsIn(runs.filter((x) => x.runnerHost !== undefined)))
      ctx.out.note(`run ${r.runId} ${elsewhereNote(r.runnerHost!)}`);
    return endOfView(ctx, store, exitCodes.ok);
  },
});

export const show: CommandSpec = defineCommand({
  args: '<run-id>',
  positionals: { min: 1, max: 1 },
  options: { output: { type: 'boolean', description: "also print every step's captured output" } },
  async run(ctx) {
    const config = await configFor(ctx);
    const store = stateViewOf(config);
    const journalView = await store.readRun(ctx.positionals[0]!);
    const { approvalId } = journalView.summary;
    // Whether it used its approval is the store's decision (from the journal), not the view's;
    // a damaged ledger counts no run (the warning says why it is not said).
    const usedApproval =
      approvalId && !store.ledgerDamage().length
        ? (await store.approvalRuns(approvalId)).find((r) => r.runId === journalView.runId)?.used
        : undefined;
    const code = journalView.verification.ok ? exitCodes.ok : exitCodes.refused;
    if (ctx.out.json) {
      ctx.out.printJson({
        ...journalView,
        ...(usedApproval !== undefined ? { usedApproval } : {}),
        ...damageJson(store),
      });
      return endOfView(ctx, store, code);
    }
    // The journal holds what the hosts printed and what the runbook said.
    const view = showControlsIn(journalView);
    const s = view.summary;
    const { style } = ctx.out;
    const lines = [
      `run ${view.runId}  ${s.status}  ${s.runbook ?? ''} ${s.version ?? ''}  ticket ${s.ticket ?? '?'}`,
      `started ${s.startedAt ?? '?'}  ended ${s.endedAt ?? '—'}`,
      ...(s.retryOf ? [`retry of run ${s.retryOf}: only its hosts that did not end ok`] : []),
      ...(usedApproval === false
        ? [`approval ${s.approvalId}: not used by this run (no host was reached, no step started)`]
        : []),
      ...(s.runnerHost !== undefined ? [`this run ${elsewhereNote(s.runnerHost)}`] : []),
      `journal ${view.location}: ${view.verification.ok ? style.green('intact') : style.red('TAMPERED')} (${view.verification.status}, ${view.verification.count} events)`,
    ];
    lines.push(
      ...hostSections(view.verification.events, {
        style,
        output: Boolean(ctx.options.output),
        ended: view.verification.status === 'complete',
        running: s.status === 'running',
        elsewhere: s.runnerHost,
      }),
    );
    for (const p of view.verification.problems) lines.push(style.red(`journal: ${p.message}`));
    ctx.out.print(lines.join('\n'));
    return endOfView(ctx, store, code);
  },
});

/**
 * Each host's steps and result. Hosts run in parallel, so their events interleave: each host's
 * lines are kept together, hosts in the order they started. A step that started and has no end
 * is shown too: it is where a runner killed mid-step stopped, and its outcome on the host is
 * unknown.
 */
function hostSections(
  events: readonly JournalLine[],
  options: {
    style: Style;
    output: boolean;
    ended: boolean;
    running: boolean;
    /** The other machine its runner is on (a shared files store): its outcome is asked there. */
    elsewhere?: string | undefined;
  },
): string[] {
  const { style } = options;
  const byHost = new Map<string, string[][]>();
  const linesOf = (host: unknown) => {
    const name = String(host);
    let own = byHost.get(name);
    if (!own) {
      own = [['', style.bold(`host ${name}`)]];
      byHost.set(name, own);
    }
    return own;
  };
  // A step's lines, at the place it started, until its end replaces them.
  const started = new Map<string, string[]>();
  const stepKey = (e: JournalLine) => `${String(e.host)}\0${String(e.phase)}\0${String(e.step)}`;
  const noResult = options.ended
    ? 'no result recorded: outcome unknown'
    : options.running
      ? 'still running'
      : options.elsewhere !== undefined
        ? `no result here: its runner is on ${options.elsewhere}`
        : 'its runner stopped: outcome unknown';
  for (const e of events) {
    if (e.type === 'host-start') linesOf(e.host);
    // A shard whose worker was gone before any of its hosts: run again by another worker.
    if (e.type === 'shard-returned' && Array.isArray(e.hosts))
      for (const host of e.hosts)
        linesOf(host).push([
          `  shard ${String(e.shard)} returned to the queue ${e.at}: ${String(e.reason)}`,
        ]);
    if (e.type === 'step-start') {
      const own = [
        `  ${String(e.phase)}/${String(e.step)}  started ${e.at}, ${style.yellow('no result')} (${noResult})`,
      ];
      linesOf(e.host).push(own);
      started.set(stepKey(e), own);
    }
    if (e.type === 'step-end') {
      const own = started.get(stepKey(e)) ?? [];
      if (!started.delete(stepKey(e))) linesOf(e.host).push(own);
      own.splice(0, own.length, ...stepEndLines(e, style, options.output));
    }
    if (e.type === 'host-end')
      linesOf(e.host).push([
        `  → ${String(e.status)}${e.rolledBack ? ' (rolled back)' : ''}${e.error ? `: ${String(e.error)}` : ''}`,
      ]);
    // The hosts the run never started are only in its end: shown, with why.
    if (e.type === 'run-end' && e.hosts && typeof e.hosts === 'object')
      for (const [host, status] of Object.entries(e.hosts as Record<string, unknown>))
        if (status === 'not-started' && !byHost.has(host))
          linesOf(host).push([`  → not started: ${notStartedReason(e)}`]);
  }
  // A host started and left with no step and no end: its runner was connecting. Each step-start
  // is on disk before its command starts, so none ran there.
  for (const own of byHost.values())
    if (own.length === 1)
      own.push([
        options.running
          ? '  no step started yet (connecting)'
          : options.elsewhere !== undefined
            ? `  no step started here yet (its runner is on ${options.elsewhere})`
            : `  no step started: nothing ran on this host (${options.ended ? 'no result recorded' : 'its runner stopped while connecting'})`,
      ]);
  return [...byHost.values()].flat(2);
}

/** Why a run's end left a host not started. */
function notStartedReason(end: JournalLine): string {
  if (end.interrupted) return 'the run was interrupted before it (nothing ran on it)';
  if (end.stoppedByFailures)
    return "more hosts had failed than the runbook's maxFailures tolerates (nothing ran on it)";
  return 'the run ended before it (nothing ran on it)';
}

/**
 * What a run without an end whose runner is on another machine is: this machine cannot ask
 * whether it still runs (`runnerHost`, a files store shared between machines).
 */
function elsewhereNote(host: string): string {
  return `has no end, and its runner is on the machine ${host}, which this one cannot ask: it may still be running there; opsbook runs list on ${host} says (running, or incomplete if its runner stopped)`;
}

/** A step's result line, and with `output` what it printed. */
function stepEndLines(e: JournalLine, style: Style, output: boolean): string[] {
  const ok = e.status === 'ok';
  const lines = [
    `  ${String(e.phase)}/${String(e.step)}  ${ok ? style.green('ok') : style.red(String(e.status))}  exit ${String(e.exitCode ?? '—')}  ${((Number(e.durationMs) || 0) / 1000).toFixed(1)}s${e.reason ? `  ${String(e.reason)}` : ''}`,
  ];
  if (!output) return lines;
  for (const stream of ['stdout', 'stderr'] as const) {
    const text = String(e[stream] ?? '').trimEnd();
    if (text)
      lines.push(
        ...text.split('\n').map((l) => style.dim(`    ${stream === 'stderr' ? '!' : '|'} `) + l),
      );
  }
  return lines;
}

function limitOf(ctx: CommandContext): number | undefined {
  const text = stringOption(ctx, 'limit');
  if (text === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(text))
    throw new UsageError(`--limit ${JSON.stringify(text)} is not a positive whole number`);
  return Number(text);
}
