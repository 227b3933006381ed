import { attachSignatureFile } from '@opsbook/runner';
import { defineCommand } from '../command.js';
import { exitCodes } from '../exit-code.js';

export default defineCommand({
  args: '<file> <sigfile>',
  positionals: { min: 2, max: 2 },
  async run(ctx) {
    const [file, sig] = ctx.positionals as [string, string];
    const envelope = await attachSignatureFile(file, sig);
    if (ctx.out.json)
      ctx.out.printJson({ file, signatures: envelope.signatures.map((s) => s.keyid) });
    else
      ctx.out.print(
        `attached ${envelope.signatures.at(-1)?.keyid} to ${file}; it now carries ${envelope.signatures.length} signature(s). Check it with opsbook verify ${file}`,
      );
    return exitCodes.ok;
  },
});
