#!/usr/bin/env node
// Capture the facts collector's real output on this machine: once with the host's own tools
// (src/__fixtures__/facts-debian-12) and once with PATH holding only the applets of Debian's
// busybox package (src/__fixtures__/facts-busybox). Run after `pnpm build`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FACTS_COLLECTOR } from '../dist/index.js';

const here = new URL('../src/__fixtures__/', import.meta.url).pathname;
const run = (env) => execFileSync('/bin/sh', ['-c', FACTS_COLLECTOR], { env, encoding: 'utf8' });

function save(folder, text) {
  mkdirSync(join(here, folder), { recursive: true });
  writeFileSync(join(here, folder, 'facts.txt'), text);
}

save('facts-debian-12', run({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }));
const bin = mkdtempSync(join(tmpdir(), 'opsbook-busybox-'));
try {
  const applets = execFileSync('busybox', ['--list'], { encoding: 'utf8' }).split('\n');
  for (const a of applets.filter((x) => /^[\w.[-]+$/.test(x)))
    symlinkSync('/bin/busybox', join(bin, a));
  save('facts-busybox', run({ PATH: bin }));
} finally {
  rmSync(bin, { recursive: true, force: true });
}
