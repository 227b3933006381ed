import { stateStoreOf } from '@opsbook/state';
import { type CommandSpec, defineCommand } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { formatTable } from '../output.js';
import { showControlsIn } from '../terminal-safe.js';

export const list: CommandSpec = defineCommand({
  async run(ctx) {
    const config = await configFor(ctx);
    const runs = await stateStoreOf(config).listRuns();
    if (ctx.out.json) {
      ctx.out.printJson({ runs });
      return exitCodes.ok;
    }
    if (!runs.length) {
      ctx.out.note(`no runs in ${stateStoreOf(config).location} yet`);
      return exitCodes.ok;
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
    return exitCodes.ok;
  },
});

export const show: CommandSpec = defineCommand({
  args: '<run-id>',
  positionals: { min: 1, max: 1 },
  options: { output: { type: 'boolean', description: "also print every step's captured output" } },
  async run(ctx) {
    const config = await configFor(ctx);
    const journalView = await stateStoreOf(config).readRun(ctx.positionals[0]!);
    if (ctx.out.json) {
      ctx.out.printJson(journalView);
      return journalView.verification.ok ? exitCodes.ok : exitCodes.refused;
    }
    // The journal holds what the hosts printed and what the runbook said.
    const view = showControlsIn(journalView);
    const s = view.summary;
    const { style } = ctx.out;
    const lines = [
      `run ${view.runId}  ${s.status}  ${s.runbook ?? ''} ${s.version ?? ''}  ticket ${s.ticket ?? '?'}`,
      `started ${s.startedAt ?? '?'}  ended ${s.endedAt ?? '—'}`,
      `journal ${view.location}: ${view.verification.ok ? style.green('intact') : style.red('TAMPERED')} (${view.verification.status}, ${view.verification.count} events)`,
    ];
    for (const e of view.verification.events) {
      if (e.type === 'host-start') lines.push('', style.bold(`host ${String(e.host)}`));
      if (e.type === 'step-end') {
        const ok = e.status === 'ok';
        lines.push(
          `  ${String(e.phase)}/${String(e.step)}  ${ok ? style.green('ok') : style.red(String(e.status))}  exit ${String(e.exitCode ?? '—')}  ${((Number(e.durationMs) || 0) / 1000).toFixed(1)}s${e.reason ? `  ${String(e.reason)}` : ''}`,
        );
        if (ctx.options.output) {
          for (const stream of ['stdout', 'stderr'] as const) {
            const text = String(e[stream] ?? '').trimEnd();
            if (text)
              lines.push(
                ...text
                  .split('\n')
                  .map((l) => style.dim(`    ${stream === 'stderr' ? '!' : '|'} `) + l),
              );
          }
        }
      }
      if (e.type === 'host-end')
        lines.push(
          `  → ${String(e.status)}${e.rolledBack ? ' (rolled back)' : ''}${e.error ? `: ${String(e.error)}` : ''}`,
        );
    }
    for (const p of view.verification.problems)
      lines.push(style.red(`journal line ${p.line}: ${p.message}`));
    ctx.out.print(lines.join('\n'));
    return view.verification.ok ? exitCodes.ok : exitCodes.refused;
  },
});
