import { ValidationError } from '@opsbook/schema';
import { stateViewOf } from '@opsbook/state';
import { defineCommand } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { damageJson, endOfView } from '../ledger-damage.js';

export default defineCommand({
  args: '[run-id]',
  positionals: { min: 0, max: 1 },
  details:
    'Without a run id, checks every journal in the state dir. Exit 3 when any was tampered with.',
  async run(ctx) {
    const config = await configFor(ctx);
    const store = stateViewOf(config);
    const ids = ctx.positionals.length
      ? [ctx.positionals[0]!]
      : (await store.listRuns()).map((r) => r.runId);
    const results = [];
    for (const id of ids) {
      const view = await store.readRun(id).catch((e: unknown) => {
        // A journal the ledger knows but the store no longer holds was deleted: tampering,
        // reported as such (exit 3), not as a usage mistake.
        const missing =
          e instanceof ValidationError && e.problems.find((p) => p.rule === 'journal-missing');
        if (!missing) throw e;
        return { runId: id, missing };
      });
      if ('missing' in view) {
        results.push({
          runId: view.runId,
          file: view.missing.file ?? '',
          ok: false,
          status: 'missing' as const,
          count: 0,
          head: '',
          problems: [{ line: 0, rule: 'journal-missing', message: view.missing.message }],
          notes: [],
        });
        continue;
      }
      results.push({
        runId: view.runId,
        file: view.location,
        ok: view.verification.ok,
        status: view.verification.status,
        count: view.verification.count,
        head: view.verification.head,
        problems: view.verification.problems,
        notes: view.verification.notes,
      });
    }
    const bad = results.filter((r) => !r.ok);
    if (ctx.out.json)
      ctx.out.printJson({ ok: bad.length === 0, journals: results, ...damageJson(store) });
    else {
      if (!results.length) ctx.out.note(`no journals in ${store.location}`);
      for (const r of results) {
        ctx.out.print(
          `${r.ok ? ctx.out.style.green('✓') : ctx.out.style.red('✗')} ${r.runId}  ${r.ok ? 'intact' : 'TAMPERED'} (${r.status === 'missing' ? 'journal missing' : `${r.status}, ${r.count} events, head ${r.head}`})`,
        );
        for (const p of r.problems)
          ctx.out.print(`    ${r.file}${p.line ? `:${p.line}` : ''}: ${p.message}`);
        for (const n of r.notes) ctx.out.print(`    note: ${n.message}`);
      }
    }
    return endOfView(ctx, store, bad.length ? exitCodes.refused : exitCodes.ok);
  },
});
