import { readApprovalPayload } from '@opsbook/runner';
import { defineCommand } from '../command.js';
import { exitCodes } from '../exit-code.js';

export default defineCommand({
  args: '<file>',
  positionals: { min: 1, max: 1 },
  details: `Example, signing with plain OpenSSH:
  opsbook approval payload OPS-42.disk-cleanup.approval.json > payload.json
  ssh-keygen -Y sign -n opsbook-approval -f ~/.ssh/id_ed25519 payload.json
  opsbook approval attach-signature OPS-42.disk-cleanup.approval.json payload.json.sig`,
  async run(ctx) {
    process.stdout.write(await readApprovalPayload(ctx.positionals[0]!));
    return exitCodes.ok;
  },
});
