import { readApprovalPayload } from '@opsbook/runner';
import { defineCommand } from '../command.js';
import { exitCodes } from '../exit-code.js';
import { showControls } from '../terminal-safe.js';

export default defineCommand({
  args: '<file>',
  positionals: { min: 1, max: 1 },
  details: `Writes the exact bytes to sign to a file or pipe; on a terminal, the same text with its
control characters written out (\\x9b, \\u202e), for reading: redirect it to sign it.
Example, signing with plain OpenSSH:
  opsbook approval payload OPS-42.disk-cleanup.approval.json > payload.json
  ssh-keygen -Y sign -n opsbook-approval -f ~/.ssh/id_ed25519 payload.json
  opsbook approval attach-signature OPS-42.disk-cleanup.approval.json payload.json.sig`,
  async run(ctx) {
    const payload = await readApprovalPayload(ctx.positionals[0]!);
    // The params are the engineer's text, and JSON leaves C1, DEL and bidi controls raw: a
    // terminal would act on them, or show the senior a value in another order than it is signed.
    process.stdout.write(process.stdout.isTTY ? showControls(payload.toString('utf8')) : payload);
    return exitCodes.ok;
  },
});
