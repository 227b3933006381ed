import { readFile } from 'node:fs/promises';
import { attachSignatureFile, trackerBinding } from '@opsbook/runner';
import { defineCommand } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';

export default defineCommand({
  args: '<file> <sigfile>',
  positionals: { min: 2, max: 2 },
  details: `Checks the signature before the file is touched: it must verify over the file's payload
(opsbook approval payload FILE) in namespace opsbook-approval (exit 2, SIGNATURE_INVALID), and its
key must be a senior's, not revoked, in this checkout's approvers.yaml, and not the proposer's
(exit 3), as opsbook approve asks, and the plan's tracker binding (Jira, run statuses, comment
visibility) must be this configuration's (exit 3, TRACKER_MISMATCH). A key that signed before gets its signature replaced.`,
  async run(ctx) {
    const [file, sig] = ctx.positionals as [string, string];
    const config = await configFor(ctx);
    const envelope = await attachSignatureFile(file, sig, {
      config,
      tracker: trackerBinding(config, process.env),
    });
    // The key that signed: a key that had signed before keeps its place (its signature replaced).
    const text = `${(await readFile(sig, 'utf8')).replace(/\r\n/g, '\n').trim()}\n`;
    const keyid = envelope.signatures.find((s) => s.sshsig === text)?.keyid;
    if (ctx.out.json)
      ctx.out.printJson({ file, signatures: envelope.signatures.map((s) => s.keyid) });
    else
      ctx.out.print(
        `attached ${keyid} to ${file}; it now carries ${envelope.signatures.length} signature(s). Check it with opsbook verify ${file}`,
      );
    return exitCodes.ok;
  },
});
