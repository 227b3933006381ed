import { composedRefs, compositionsOf, loadOneRunbook } from '@opsbook/runner/catalog';
import { digestRunbook } from '@opsbook/schema';
import { defineCommand } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { showControlsOnLine } from '../terminal-safe.js';

export default defineCommand({
  args: '<runbook>',
  isDoneWhenResolved: true,
  positionals: { min: 1, max: 1 },
  options: {
    files: { type: 'boolean', description: 'also list every file with its sha256' },
  },
  details: `The digest covers every byte of every file in the runbook folder (except CHANGELOG.md and
README.md), the package name and the version. Any change gives a new digest, and approvals of
the old one are refused. A runbook that composes others (uses: runbook:NAME@RANGE) also lists
the digest of each composed runbook its ranges resolve to: an approval binds those too.`,
  async run(ctx) {
    const config = await configFor(ctx);
    const bundle = await loadOneRunbook(ctx.positionals[0]!, config);
    const [{ digest, files }, composes] = await Promise.all([
      digestRunbook(bundle.dir, bundle),
      compositionsOf(bundle),
    ]);
    const composed = composedRefs(composes);
    if (ctx.out.json) {
      ctx.out.printJson({
        name: bundle.name,
        version: bundle.version,
        digest,
        files,
        ...(composed.length ? { composed } : {}),
      });
      return exitCodes.ok;
    }
    ctx.out.print(ctx.options.files ? `${digest}  ${bundle.name}@${bundle.version}` : digest);
    if (ctx.options.files)
      for (const f of files) ctx.out.print(`  sha256:${f.sha256}  ${showControlsOnLine(f.path)}`);
    // The bundles an approval of this runbook binds too, one per composing step.
    for (const c of composed)
      ctx.out.print(`  composed ${c.step}: ${c.digest}  ${c.name}@${c.version} (${c.range})`);
    return exitCodes.ok;
  },
});
