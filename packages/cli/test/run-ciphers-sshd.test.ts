import { mkdir, readFile, writeFile } from 'node:fs/promises';
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
    const probe = path.join(world.dir, 'wasm-probe.cjs');
    const report = path.join(world.dir, 'wasm-probe.json');
    // Counts every way a WebAssembly module can be compiled or instantiated.
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
    const r = await runApproval(world, file, [], { NODE_OPTIONS: `--require ${probe}` });
    expect(r.code, r.stderr).toBe(0);
    expect(hostOf(r.doc, 'h1').status).toBe('ok');
    expect(await readFile(path.join(dir, 'h1.ran'), 'utf8')).toBe('blue\n');
    expect(JSON.parse(await readFile(report, 'utf8'))).toEqual([]);
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
