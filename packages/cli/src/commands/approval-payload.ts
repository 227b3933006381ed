import { readApprovalPayload } from '@opsbook/runner';
import { defineCommand } from '../command.js';

export default defineCommand({
  name: 'approval payload',
  summary: "write an approval's exact statement bytes to stdout (to sign with ssh-keygen -Y sign)",
  args: '<file>',
  positionals: { min: 1, max: 1 },
  details: `Example, signing with plain OpenSSH:
  opsbook approval payload OPS-42.disk-cleanup.approval.json > payload.json
  ssh-keygen -Y sign -n opsbook-approval -f ~/.ssh/id_ed25519 payload.json
  opsbook approval attach-signature OPS-42.disk-cleanup.approval.json payload.json.sig`,
  async run(ctx) {
    process.stdout.write(await readApprovalPayload(ctx.positionals[0]!));
    return 0;
  },
});
