// Captures the real outputs kept in src/__fixtures__: runs every collector of the catalogue
// through /bin/sh on this machine, once with the host's own tools (debian-12/) and once with a
// PATH that holds only BusyBox applets (busybox/), the userland of Alpine. Run after `pnpm build`:
//   node scripts/capture-fixtures.mjs <scratch-dir>
// The scratch dir receives the certificate, log and backup files the collectors look at.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { inspectionChecks } from '../dist/index.js';

const scratch = path.resolve(process.argv[2] ?? '/tmp/opsbook-fixtures');
mkdirSync(path.join(scratch, 'backups'), { recursive: true });
mkdirSync(path.join(scratch, 'bin'), { recursive: true });
const cert = path.join(scratch, 'cert.pem');
execFileSync(
  'openssl',
  [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '45',
    '-subj',
    '/CN=inspection.test',
    '-keyout',
    path.join(scratch, 'key.pem'),
    '-out',
    cert,
  ],
  { stdio: 'ignore' },
);
const log = path.join(scratch, 'app.log');
writeFileSync(
  log,
  ['INFO started', 'ERROR db timeout', 'WARN slow', 'error: retry failed', 'INFO ok'].join('\n') +
    '\n',
);
const hour = 3600;
for (const [name, age] of [
  ['db-1.dump', 30 * hour],
  ['db-2.dump', 5 * hour],
]) {
  const file = path.join(scratch, 'backups', name);
  writeFileSync(file, 'x'.repeat(2048));
  const t = Date.now() / 1000 - age;
  utimesSync(file, t, t);
}
const applets = execFileSync('busybox', ['--list'], { encoding: 'utf8' }).trim().split('\n');
for (const a of applets) {
  try {
    symlinkSync('/usr/bin/busybox', path.join(scratch, 'bin', a));
  } catch {}
}

const server = http.createServer((_q, r) => r.end('ok'));
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = server.address().port;
// A zombie: the child `sleep 0` exits, and its parent exec's into a sleep that never reaps it.
const zombieParent = spawn('sh', ['-c', 'sleep 0 & exec sleep 30'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 500));

const withs = {
  'inspection.unit-active': { unit: 'ssh' },
  'inspection.process': { name: 'sleep' },
  'inspection.port-listening': { port },
  'inspection.endpoint': { url: `http://127.0.0.1:${port}/` },
  'inspection.tls-cert': { file: cert },
  'inspection.log-errors': { file: log },
  'inspection.backup-age': { path: path.join(scratch, 'backups'), name: '*.dump' },
};
const run = (cmd, env) =>
  new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', cmd], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', () => resolve(out));
  });
const here = path.dirname(new URL(import.meta.url).pathname);
for (const [distro, env] of [
  ['debian-12', { ...process.env }],
  ['busybox', { PATH: path.join(scratch, 'bin'), HOME: '/root' }],
]) {
  const dir = path.join(here, '..', 'src', '__fixtures__', distro);
  mkdirSync(dir, { recursive: true });
  for (const [name, check] of Object.entries(inspectionChecks)) {
    const output = await run(check.collect(withs[name] ?? {}), env);
    writeFileSync(path.join(dir, `${name.replace('inspection.', '')}.txt`), output);
  }
  writeFileSync(path.join(dir, 'with.json'), `${JSON.stringify(withs, null, 2)}\n`);
}
zombieParent.kill();
server.close();
console.log(
  readFileSync(
    path.join(here, '..', 'src', '__fixtures__', 'busybox', 'process.txt'),
    'utf8',
  ).slice(0, 200),
);
