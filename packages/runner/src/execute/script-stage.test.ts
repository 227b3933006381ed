import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalTransport, type Transport } from '@opsbook/exec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ScriptStage } from './script-stage.js';

/*
 * The attack: the engineer who runs opsbook owns the checkout and TMPDIR, so a file can be
 * swapped between the sha256 check and the copy. What reaches the host must be the checked bytes.
 */
const signed = '#!/bin/sh\necho signed\n';
const evil = '#!/bin/sh\necho UNSIGNED\n';
const sha256 = createHash('sha256').update(signed).digest('hex');

let dir: string;
let bundle: string;
let host: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'script-stage-'));
  bundle = path.join(dir, 'bundle');
  host = path.join(dir, 'host');
  await mkdir(path.join(bundle, 'scripts'), { recursive: true });
  await mkdir(host);
  await writeFile(path.join(bundle, 'scripts', 'go.sh'), signed);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ScriptStage', () => {
  it('writes the bytes it checked, even when the file is swapped after the check', async () => {
    const local = createLocalTransport({ env: { ...process.env, TMPDIR: host } });
    // Between the check and the write, the stage makes its folder on the host: the swap goes there.
    const racing: Transport = {
      ...local,
      host: 'web-01',
      exec: async (request) => {
        await writeFile(path.join(bundle, 'scripts', 'go.sh'), evil);
        // And any copy the runner keeps in its TMPDIR (the engineer's) on the way.
        for (const d of await readdir(tmpdir()))
          if (d.startsWith('opsbook-script-'))
            for (const f of await readdir(path.join(tmpdir(), d)).catch(() => []))
              await writeFile(path.join(tmpdir(), d, f), evil).catch(() => undefined);
        return local.exec(request);
      },
    };
    const stage = new ScriptStage(local);
    const remote = await stage.stage(racing, { path: 'scripts/go.sh', sha256 }, bundle);
    expect(remote.startsWith(`${host}/opsbook.`)).toBe(true);
    expect(await readFile(remote, 'utf8')).toBe(signed);
    await stage.cleanup(racing);
  });

  it('refuses a script whose bytes are not the approved ones, writing nothing', async () => {
    await writeFile(path.join(bundle, 'scripts', 'go.sh'), evil);
    const local = createLocalTransport({ env: { ...process.env, TMPDIR: host } });
    const stage = new ScriptStage(local);
    await expect(
      stage.stage(local, { path: 'scripts/go.sh', sha256 }, bundle),
    ).rejects.toMatchObject({ code: 'SCRIPT_CHANGED' });
    expect(await readdir(host)).toEqual([]);
  });
});
