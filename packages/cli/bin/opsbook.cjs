#!/usr/bin/env node
// The `opsbook` that pnpm links into this repository's node_modules/.bin (the root depends on
// @opsbook/cli), so that `pnpm -s opsbook …` works from every folder of the workspace, a
// runbook's or a package's too: there pnpm finds no `opsbook` script and runs this from PATH.
// It runs the built command, dist/bin.js, which does not exist until the first build; pnpm links
// a bin only when its file exists at install time, hence this file. A published package runs
// dist/bin.js itself (publishConfig.bin).
'use strict';
const path = require('node:path');

const built = path.join(__dirname, '..', 'dist', 'bin.js');
let cli;
try {
  cli = require(built);
} catch (error) {
  if (error?.code !== 'MODULE_NOT_FOUND' || !String(error.message).includes(built)) throw error;
  const root = path.resolve(__dirname, '..', '..', '..');
  process.stderr.write(
    `opsbook is not built yet: run \`pnpm build\` in ${root} (the repository's root), then try again\n`,
  );
  process.exit(2);
}
cli.run(process.argv.slice(2));
