import path from 'node:path';
import { loadCatalog } from '@opsbook/runner/catalog';
import { formatProblem, type Problem, sortProblems } from '@opsbook/schema';
import { defineCommand } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';

export default defineCommand({
  args: '[runbook…]',
  isDoneWhenResolved: true,
  positionals: { min: 0, max: Number.POSITIVE_INFINITY },
  details: `Checks every runbook of the repository, or the runbooks named (by name or folder).
Each problem is printed as file:line:col: message. Exit 2 when any runbook has a problem.

Examples:
  opsbook validate
  opsbook validate disk-cleanup runbooks/service-restart`,
  async run(ctx) {
    const config = await configFor(ctx);
    // Only the problems matter here: composed runbooks are checked, not digested.
    const results = await loadCatalog(config, ctx.positionals, process.cwd(), { checkOnly: true });
    const problems: Problem[] = sortProblems(results.flatMap((r) => r.problems));
    const bad = results.filter((r) => !r.ok).length;
    if (ctx.out.json) {
      ctx.out.printJson({
        ok: problems.length === 0,
        runbooks: results.map((r) =>
          r.ok
            ? {
                name: r.bundle.name,
                version: r.bundle.version,
                dir: r.bundle.dir,
                ok: true,
                problems: [],
              }
            : { name: path.basename(r.dir), dir: r.dir, ok: false, problems: r.problems },
        ),
      });
    } else {
      const { style } = ctx.out;
      for (const p of problems) ctx.out.print(formatProblem(p));
      if (results.length === 0) {
        ctx.out.note(
          `no runbooks found in ${path.relative(process.cwd(), config.runbooksDir) || '.'}`,
        );
      } else if (problems.length) {
        ctx.out.print(
          style.red(
            `✗ ${problems.length} problem${problems.length === 1 ? '' : 's'} in ${bad} of ${results.length} runbook${results.length === 1 ? '' : 's'}`,
          ),
        );
      } else {
        ctx.out.print(
          style.green(`✓ ${results.length} runbook${results.length === 1 ? '' : 's'} valid`),
        );
      }
    }
    return problems.length ? exitCodes.invalid : exitCodes.ok;
  },
});
