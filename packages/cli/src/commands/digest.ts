import { loadOneRunbook } from '@opsbook/runner/catalog';
import { digestRunbook } from '@opsbook/schema';
import { defineCommand } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';

export default defineCommand({
  args: '<runbook>',
  isDoneWhenResolved: true,
  positionals: { min: 1, max: 1 },
  options: {
    files: { type: 'boolean', description: 'also list every file with its sha256' },
  },
  details: `The digest covers every byte of every file in the runbook folder (except CHANGELOG.md and
README.md), the package name and the version. Any change gives a new digest, and approvals of
the old one are refused.`,
  async run(ctx) {
    const config = await configFor(ctx);
    const bundle = await loadOneRunbook(ctx.positionals[0]!, config);
    const { digest, files } = await digestRunbook(bundle.dir, bundle);
    if (ctx.out.json) {
      ctx.out.printJson({ name: bundle.name, version: bundle.version, digest, files });
      return exitCodes.ok;
    }
    ctx.out.print(ctx.options.files ? `${digest}  ${bundle.name}@${bundle.version}` : digest);
    if (ctx.options.files) for (const f of files) ctx.out.print(`  sha256:${f.sha256}  ${f.path}`);
    return exitCodes.ok;
  },
});
