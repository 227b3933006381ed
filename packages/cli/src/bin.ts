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
  const { main } = await import('./main.js');
  process.exitCode = await main(argv);
}
