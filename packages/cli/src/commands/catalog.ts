import { UsageError } from '@opsbook/schema';
import { defineCommand } from '../command.js';

// Being built (issue #20 item 5): registered first so that the command table changes once.
export default defineCommand({
  async run() {
    throw new UsageError('opsbook catalog is not finished yet (issue #20 item 5)');
  },
});
