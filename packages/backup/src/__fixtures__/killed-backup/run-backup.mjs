// Runs one file backup in its own process, so a test can SIGKILL it mid-stream.
import { createLocalTransport } from '@opsbook/exec';
import { backupFiles } from '../../../dist/index.js';

const [repository, source] = process.argv.slice(2);
await backupFiles({
  transport: createLocalTransport({ host: 'killed' }),
  repository,
  paths: [source],
  compression: 'gzip',
  onProgress: (p) => process.stdout.write(`progress ${p.bytes}\n`),
});
process.stdout.write('finished\n');
