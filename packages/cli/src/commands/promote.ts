import { UsageError } from '@opsbook/schema';
import { defineCommand } from '../command.js';

// Being built (issue #20 item 4): registered first so that the command table changes once.
export default defineCommand({
  args: '<script>',
  positionals: { min: 1, max: 1 },
  async run() {
    throw new UsageError('opsbook promote is not finished yet (issue #20 item 4)');
  },
});
