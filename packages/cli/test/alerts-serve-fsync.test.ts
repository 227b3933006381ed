import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeAlertBurst } from '@opsbook/testkit/alert-burst';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe } from './alerts-server.js';
import { runCli } from './run-cli.js';

/*
 * Alerts a killed receiver wrote may not be on disk yet (its fsync had not returned, so it never
 * answered 200). A restarted receiver answers a retry of them "already stored", so it must make
 * them durable first: strace shows `opsbook alerts serve` fsync each recent intake day file and
 * their folder before it calls listen(2), so before any delivery can even connect.
 */

describe('opsbook alerts serve at start (under strace)', () => {
  let temp: { dir: string; remove: () => Promise<void> };
  let serve: ServeProcess | undefined;
  let nodePid: number | undefined;

  beforeEach(async () => {
    temp = await makeTempDir('opsbook-alerts-fsync-');
    await writeFile(
      path.join(temp.dir, 'opsbook.yaml'),
      'apiVersion: opsbook/v1\nkind: Config\nstateDir: .opsbook\n',
    );
  });
  afterEach(async () => {
    if (nodePid !== undefined && serve?.child.exitCode === null) process.kill(nodePid, 'SIGKILL');
    await serve?.stop('SIGKILL');
    serve = undefined;
    nodePid = undefined;
    await temp.remove();
  });

  it('fsyncs the intake day files and their folder before it listens', async () => {
    // Alerts stored by an earlier process, today (UTC): the receiver warms its dedupe from them.
    const [body] = makeAlertBurst({ alerts: 4, hosts: 1, startsAt: new Date() });
    await writeFile(path.join(temp.dir, 'body.json'), JSON.stringify(body));
    expect((await runCli(['alerts', 'ingest', 'body.json'], { cwd: temp.dir })).code).toBe(0);
    const intake = path.join(temp.dir, '.opsbook', 'alerts', 'intake');
    const day = `${new Date().toISOString().slice(0, 10)}.jsonl`;

    const log = path.join(temp.dir, 'strace.log');
    const prefix = ['strace', '-f', '-qq', '-y', '-e', 'trace=fsync,fdatasync,listen', '-o', log];
    serve = await startServe(['--listen', '127.0.0.1:0'], { cwd: temp.dir, prefix });
    const lines = (await readFile(log, 'utf8')).split('\n');
    const listen = lines.findIndex((l) => /^\d+ +listen\(/.test(l));
    // strace ignores SIGTERM while it runs a program: the receiver is stopped by its own pid.
    if (listen >= 0) nodePid = Number(lines[listen]!.split(' ')[0]);
    expect(listen, lines.join('\n')).toBeGreaterThanOrEqual(0);
    // Nothing stored twice: the retry of what the earlier process stored is a duplicate.
    const retry = await serve.post(body!);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual({ accepted: 0, duplicates: 4 });

    const fsynced = (file: string) =>
      lines.findIndex((l) => l.includes(` fsync(`) && l.includes(`<${file}>) = 0`));
    const dayFile = fsynced(path.join(intake, day));
    const folder = fsynced(intake);
    expect(dayFile, lines.join('\n')).toBeGreaterThanOrEqual(0);
    expect(folder, lines.join('\n')).toBeGreaterThanOrEqual(0);
    expect(dayFile).toBeLessThan(listen);
    expect(folder).toBeLessThan(listen);
    process.kill(nodePid!, 'SIGTERM');
    expect(await serve.stop('SIGTERM')).toBe(0);
  });
});
