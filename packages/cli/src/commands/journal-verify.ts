import { listRuns, readRun } from '@opsbook/runner';
import { defineCommand } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';

export default defineCommand({
  args: '[run-id]',
  positionals: { min: 0, max: 1 },
  details:
    'Without a run id, checks every journal in the state dir. Exit 3 when any was tampered with.',
  async run(ctx) {
    const config = await configFor(ctx);
    const ids = ctx.positionals.length
      ? [ctx.positionals[0]!]
      : (await listRuns(config.stateDir)).map((r) => r.runId);
    const results = [];
    for (const id of ids) {
      const view = await readRun(config.stateDir, id);
      results.push({
        runId: view.runId,
        file: view.file,
        ok: view.verification.ok,
        status: view.verification.status,
        count: view.verification.count,
        head: view.verification.head,
        problems: view.verification.problems,
        notes: view.verification.notes,
      });
    }
    const bad = results.filter((r) => !r.ok);
    if (ctx.out.json) ctx.out.printJson({ ok: bad.length === 0, journals: results });
    else {
      if (!results.length) ctx.out.note(`no journals in ${config.stateDir}`);
      for (const r of results) {
        ctx.out.print(
          `${r.ok ? ctx.out.style.green('✓') : ctx.out.style.red('✗')} ${r.runId}  ${r.ok ? 'intact' : 'TAMPERED'} (${r.status}, ${r.count} events, head ${r.head})`,
        );
        for (const p of r.problems) ctx.out.print(`    ${r.file}:${p.line}: ${p.message}`);
        for (const n of r.notes) ctx.out.print(`    note: ${n.message}`);
      }
    }
    return bad.length ? exitCodes.refused : exitCodes.ok;
  },
});
