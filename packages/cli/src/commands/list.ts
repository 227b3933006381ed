import path from 'node:path';
import { loadCatalog, outsideRepository, shownFolder } from '@opsbook/runner/catalog';
import { defineCommand } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { formatTable } from '../output.js';
import { showControlsOnLine } from '../terminal-safe.js';

export default defineCommand({
  isDoneWhenResolved: true,
  details:
    'Invalid runbooks are left out of the list and named on stderr (exit 2); run opsbook validate for the details.',
  async run(ctx) {
    const config = await configFor(ctx);
    // Only which runbooks are valid matters here: composed runbooks are checked, not digested.
    const results = await loadCatalog(config, [], process.cwd(), { checkOnly: true });
    const good = results.flatMap((r) => (r.ok ? [r.bundle] : []));
    const bad = results.flatMap((r) => (r.ok ? [] : [path.basename(r.dir)]));
    if (ctx.out.json) {
      ctx.out.printJson({
        runbooks: good.map((b) => ({
          name: b.name,
          version: b.version,
          title: b.runbook.metadata.title,
          category: b.runbook.metadata.category,
          grade: b.runbook.metadata.grade,
          owners: b.runbook.metadata.owners ?? [],
        })),
        invalid: bad,
      });
    } else if (good.length) {
      ctx.out.print(
        formatTable(
          ['NAME', 'VERSION', 'CATEGORY', 'GRADE', 'TITLE'],
          good.map((b) => [
            b.name,
            b.version,
            b.runbook.metadata.category,
            b.runbook.metadata.grade,
            b.runbook.metadata.title,
          ]),
          ctx.out.style,
        ),
      );
    } else if (!bad.length) {
      const outside = outsideRepository(config);
      ctx.out.note(
        outside
          ? `no runbooks: ${outside}`
          : `no runbooks in ${shownFolder(config.runbooksDir)}; create one with pnpm new-runbook NAME`,
      );
    }
    if (bad.length) {
      ctx.out.note(
        `${bad.length} invalid runbook${bad.length === 1 ? '' : 's'} left out: ${bad.map(showControlsOnLine).join(', ')} (run opsbook validate)`,
      );
      return exitCodes.invalid;
    }
    return exitCodes.ok;
  },
});
