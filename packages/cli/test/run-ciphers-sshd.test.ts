import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { createWorld, execFileAsync, type World } from './opsbook-world.js';
import { hostOf, runApproval } from './run-outcome.js';
import { markerRunbook } from './runbook-fixtures.js';

/*
 * ssh2 instantiated its WebAssembly poly1305 (16 MiB of memory) as it loaded, for
 * chacha20-poly1305 without its native binding. With the binding it never used it, but the
 * memory made V8 start a full collection early in every run. A run now makes no WebAssembly
 * module, and chacha20-poly1305 still works: these hosts' sshd allows no other cipher.
 */

let world: World;
const root = path.resolve(import.meta.dirname, '../../..');

/** A --require preload that notes every way a WebAssembly module is compiled or instantiated. */
async function wasmProbe(name: string): Promise<{ probe: string; made: () => Promise<string[]> }> {
  const probe = path.join(world.dir, `wasm-probe-${name}.cjs`);
  const report = path.join(world.dir, `wasm-probe-${name}.json`);
  await writeFile(
    probe,
    `const made = [];
for (const name of ['compile', 'instantiate', 'compileStreaming', 'instantiateStreaming']) {
  const f = WebAssembly[name];
  WebAssembly[name] = function (...args) { made.push(name); return f.apply(this, args); };
}
for (const name of ['Module', 'Instance']) {
  const C = WebAssembly[name];
  WebAssembly[name] = new Proxy(C, { construct(t, args) { made.push(name); return new t(...args); } });
}
process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(report)}, JSON.stringify(made)));
`,
  );
  return { probe, made: async () => JSON.parse(await readFile(report, 'utf8')) };
}
beforeAll(async () => {
  world = await createWorld({
    hostCount: 1,
    runbooks: { marker: markerRunbook() },
    sshdConfig: ['Ciphers chacha20-poly1305@openssh.com'],
  });
});
afterAll(async () => {
  await world?.remove();
});

describe('opsbook run and the SSH ciphers', () => {
  it('runs over chacha20-poly1305 (the only cipher the host allows) without making a WebAssembly module', async () => {
    const dir = path.join(world.markerDir, 'chacha');
    await mkdir(dir, { recursive: true });
    const file = await approvedFile(world, 'marker', 'chacha.json', [world.people.alice], {
      params: { dir },
      target: 'h1',
    });
    const { probe, made } = await wasmProbe('run');
    const r = await runApproval(world, file, [], { NODE_OPTIONS: `--require ${probe}` });
    expect(r.code, r.stderr).toBe(0);
    expect(hostOf(r.doc, 'h1').status).toBe('ok');
    expect(await readFile(path.join(dir, 'h1.ran'), 'utf8')).toBe('blue\n');
    expect(await made()).toEqual([]);
  });

  it('ssh2 as installed (patches/ssh2@1.17.0.patch), which the other commands and the libraries load, makes none either', async () => {
    // The ES module build (inspect, stats, worker) and @opsbook/exec load ssh2 from node_modules,
    // not from dist/run.js: the same login over chacha20-poly1305, through the installed package.
    const h = world.hosts[0]!;
    const { probe, made } = await wasmProbe('installed');
    const ssh2 = createRequire(path.join(root, 'packages/cli/package.json')).resolve('ssh2');
    const login = path.join(world.dir, 'installed-login.cjs');
    await writeFile(
      login,
      `const { readFileSync } = require('node:fs');
const { Client } = require(${JSON.stringify(ssh2)});
const hostKey = Buffer.from(${JSON.stringify(h.knownHostsLine.split(' ').at(-1))}, 'base64');
const c = new Client();
c.on('handshake', (n) => { process.stdout.write(n.cs.cipher + ' '); });
c.on('ready', () => c.exec('echo ran', (err, ch) => {
  if (err) throw err;
  ch.on('data', (d) => process.stdout.write(d)).on('close', () => c.end());
}));
c.on('error', (e) => { console.error(e.message); process.exitCode = 1; });
c.connect({ host: ${JSON.stringify(h.host)}, port: ${h.port}, username: ${JSON.stringify(h.user)},
  privateKey: readFileSync(${JSON.stringify(h.clientKeyPath)}), hostVerifier: (key) => key.equals(hostKey) });
`,
    );
    const { stdout } = await execFileAsync(process.execPath, ['--require', probe, login]);
    expect(stdout).toBe('chacha20-poly1305@openssh.com ran\n');
    expect(await made()).toEqual([]);
  });

  it('has a host that refuses AES-GCM (so the run above went over chacha20-poly1305)', async () => {
    const h = world.hosts[0]!;
    const khFile = path.join(world.dir, 'cipher-known-hosts');
    await writeFile(khFile, `${h.knownHostsLine}\n`);
    const ssh = (cipher: string) =>
      execFileAsync('ssh', [
        ...[
          '-o',
          'BatchMode=yes',
          '-o',
          `UserKnownHostsFile=${khFile}`,
          '-o',
          'StrictHostKeyChecking=yes',
        ],
        ...['-o', `Ciphers=${cipher}`, '-i', h.clientKeyPath, '-p', String(h.port)],
        `${h.user}@${h.host}`,
        'true',
      ]);
    await expect(ssh('aes128-gcm@openssh.com')).rejects.toThrow(/no matching cipher/);
    await expect(ssh('chacha20-poly1305@openssh.com')).resolves.toBeDefined();
  });
});
