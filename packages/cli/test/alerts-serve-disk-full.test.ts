import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeAlertBurst, type WebhookPayload } from '@opsbook/testkit/alert-burst';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe } from './alerts-server.js';
import { stackTrace } from './run-cli.js';

/*
 * A receiver whose state dir fills up: the disk takes part of a notification (the slack of the
 * intake file's last page) and refuses the rest. Nothing it was not given whole may be answered
 * 200, nor be remembered as stored: Alertmanager resends only what got a 5xx. A real full
 * filesystem (a small tmpfs, as root on the test machines), the real binary.
 */

const execFileAsync = promisify(execFile);
const CONFIG = 'apiVersion: opsbook/v1\nkind: Config\nstateDir: .opsbook\n';

/** `count` alerts of one host, told apart from other calls' by when they started. */
function notification(count: number, startsAt: string): WebhookPayload {
  return makeAlertBurst({ alerts: count, hosts: 1, startsAt: new Date(startsAt) })[0]!;
}

/** Fills the filesystem of `file` until it refuses a byte more. */
async function fillDisk(file: string): Promise<void> {
  await expect(writeFile(file, Buffer.alloc(1024 * 1024))).rejects.toMatchObject({
    code: 'ENOSPC',
  });
}

describe('opsbook alerts serve on a state dir that fills up', () => {
  let temp: { dir: string; remove: () => Promise<void> };
  let stateDir: string;
  let mounted = false;
  let serve: ServeProcess | undefined;

  beforeEach(async () => {
    temp = await makeTempDir('opsbook-alerts-full-');
    await writeFile(path.join(temp.dir, 'opsbook.yaml'), CONFIG);
    stateDir = path.join(temp.dir, '.opsbook');
    await mkdir(stateDir);
    await execFileAsync('mount', [
      '-t',
      'tmpfs',
      '-o',
      'size=300k,mode=0700',
      'opsbook-alerts-full',
      stateDir,
    ]);
    mounted = true;
  });
  afterEach(async () => {
    if (serve && serve.child.exitCode === null) await serve.stop('SIGKILL');
    serve = undefined;
    if (mounted) await execFileAsync('umount', ['-l', stateDir]);
    mounted = false;
    await temp.remove();
  });

  it('answers 503 to what the full disk refused, remembers none of it, and stores the retry once', async () => {
    serve = await startServe(['--listen', '127.0.0.1:0'], { cwd: temp.dir });
    const before = notification(3, '2026-01-01T00:00:00Z');
    expect(await (await serve.post(before)).json()).toEqual({ accepted: 3, duplicates: 0 });

    const intake = path.join(stateDir, 'alerts', 'intake');
    const intakeFiles = async () => {
      const files: string[] = [];
      for (const name of (await readdir(intake)).sort())
        files.push(await readFile(path.join(intake, name), 'utf8'));
      return files;
    };
    const stored = await intakeFiles();

    const filler = path.join(stateDir, 'filler');
    await fillDisk(filler);
    const burst = notification(20, '2026-01-01T00:05:00Z');
    for (let attempt = 0; attempt < 2; attempt++) {
      const refused = await serve.post(burst);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      // The part the disk took (the slack of the file's last page) was cut back.
      expect(await intakeFiles()).toEqual(stored);
    }
    // Deliveries that arrive while a batch is failing wait for it, and are refused with it: 503,
    // never a 4xx, which Alertmanager would not retry. (20 alerts are more than a page of slack.)
    const others = Array.from({ length: 6 }, (_, i) => notification(20, `2026-01-01T01:0${i}:00Z`));
    const answers = await Promise.all([burst, ...others].map((n) => serve!.post(n)));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 503));
    expect(await intakeFiles()).toEqual(stored);

    await rm(filler);
    const retried = await serve.post(burst);
    expect(retried.status).toBe(200);
    expect(await retried.json()).toEqual({ accepted: 20, duplicates: 0 });
    expect(await (await serve.post(burst)).json()).toEqual({ accepted: 0, duplicates: 20 });
    const after = notification(1, '2026-01-01T00:10:00Z');
    expect(await (await serve.post(after)).json()).toEqual({ accepted: 1, duplicates: 0 });
    for (const n of others) expect((await serve.post(n)).status).toBe(200);

    // Every line whole, and every alert answered 200 stored exactly once.
    const lines = (await intakeFiles()).flatMap((f) => f.split('\n').slice(0, -1));
    const keys = lines
      .map((l) => JSON.parse(l) as { fingerprint: string; startsAt: string })
      .map((a) => `${a.fingerprint} ${a.startsAt}`)
      .sort();
    const sent = [before, burst, after, ...others]
      .flatMap((n) => n.alerts)
      .map((a) => `${a.fingerprint} ${a.startsAt}`)
      .sort();
    expect(keys).toEqual(sent);
    expect(await serve.stop('SIGTERM')).toBe(0);
    expect(serve.stderr()).toMatch(
      /could not store alerts from 127\.0\.0\.1:\d+ \(answered 503\): cannot write the intake file \S+: no space left on the device \(ENOSPC\)/,
    );
    expect(serve.stderr()).not.toMatch(stackTrace);
  });
});
