#!/usr/bin/env node
// Kept tiny: `--version` answers without loading anything else.
import { readFileSync } from 'node:fs';

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  process.stdout.write(`${pkg.version}\n`);
} else {
  // A reader that stops early (`opsbook … | head`) closes the pipe: the command carries on (a run
  // must not stop half-way because nobody reads its progress) and nothing more is written.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
    });
  }
  const { main } = await import('./main.js');
  const { exitCode, isDone } = await main(argv);
  process.exitCode = exitCode;
  // A command that left nothing pending exits now rather than after the runtime's teardown
  // (~10 ms of a cold validate) — but only once stdout and stderr hold no unwritten bytes: a pipe
  // to a slow reader can keep part of a large --json queued, and exit() would drop it.
  if (isDone && process.stdout.writableLength === 0 && process.stderr.writableLength === 0)
    process.exit();
}
