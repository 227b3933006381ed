import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeAlertBurst, type PostOutcome, postWebhooks } from '@opsbook/testkit/alert-burst';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterEach, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe } from './alerts-server.js';

/*
 * A burst of 2,000 alerts over 200 hosts (one Alertmanager post per host) into the real
 * `opsbook alerts serve`, SIGKILLed mid-burst and started again on the same state and address;
 * then what Alertmanager does: every post not answered 200 is sent again until it is, and some
 * that were answered are sent again too (a 200 lost on the way, a repeat).
 */

const isOk = (o: PostOutcome | undefined) => o !== undefined && 'status' in o && o.status === 200;

/** Every JSON line of the intake files; lines a killed writer tore are counted apart. */
async function intakeLines(stateDir: string) {
  const dir = path.join(stateDir, 'alerts', 'intake');
  const records: Array<{ fingerprint: string; startsAt: string; status: string }> = [];
  let torn = 0;
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).sort()) {
    for (const line of (await readFile(path.join(dir, name), 'utf8')).split('\n')) {
      if (line === '') continue;
      try {
        records.push(JSON.parse(line));
      } catch {
        torn++;
      }
    }
  }
  return { records, torn };
}

describe('opsbook alerts serve killed mid-burst', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function stopWhenDone(serve: ServeProcess) {
    cleanups.push(async () => {
      if (serve.child.exitCode === null && serve.child.signalCode === null)
        await serve.stop('SIGKILL');
    });
  }

  it('loses no alert and stores none twice when killed mid-burst and restarted on the same state', async () => {
    const temp = await makeTempDir('opsbook-alerts-kill-');
    cleanups.push(temp.remove);
    await writeFile(
      path.join(temp.dir, 'opsbook.yaml'),
      'apiVersion: opsbook/v1\nkind: Config\nstateDir: state\ntracker: {kind: local}\n',
    );
    const payloads = makeAlertBurst({ alerts: 2000, hosts: 200 });
    const bodies = payloads.map((p) => JSON.stringify(p));
    const expectedKeys = new Set(
      payloads.flatMap((p) => p.alerts.map((a) => `${a.fingerprint}|${a.startsAt}|${a.status}`)),
    );
    expect(expectedKeys.size).toBe(2000);

    const first = await startServe(['--listen', '127.0.0.1:0'], { cwd: temp.dir });
    stopWhenDone(first);
    let answered = 0;
    let killed: Promise<number | null> | undefined;
    const burst = await postWebhooks(first.url, bodies, {
      concurrency: 8,
      onOutcome: (_, outcome) => {
        if (isOk(outcome) && ++answered === 60) killed = first.stop('SIGKILL');
      },
    });
    expect(await killed).toBeNull();
    expect(first.child.signalCode).toBe('SIGKILL');
    const answeredFirst = burst.flatMap((o, i) => (isOk(o) ? [i] : []));
    const unanswered = burst.flatMap((o, i) => (isOk(o) ? [] : [i]));
    // The kill fell mid-burst: some posts answered, the rest refused or cut off.
    expect(answeredFirst.length).toBeGreaterThanOrEqual(60);
    expect(unanswered.length).toBeGreaterThan(0);
    for (const i of unanswered) expect(burst[i]).toHaveProperty('error');
    const acceptedFirst = answeredFirst.reduce(
      (n, i) => n + JSON.parse((burst[i] as { body: string }).body).accepted,
      0,
    );

    // Alertmanager posts to one URL: the receiver comes back on the same address.
    const second = await startServe(['--listen', new URL(first.url).host], { cwd: temp.dir });
    stopWhenDone(second);
    const resentAnswered = answeredFirst.filter((_, k) => k % 5 === 0);
    let pending = [...unanswered, ...resentAnswered];
    const answers = new Map<number, { accepted: number; duplicates: number }>();
    for (let round = 0; pending.length > 0; round++) {
      expect(round, `posts still not answered 200: ${pending.length}`).toBeLessThan(5);
      const outcomes = await postWebhooks(
        second.url,
        pending.map((i) => bodies[i]!),
        { concurrency: 8 },
      );
      outcomes.forEach((o, k) => {
        if (isOk(o)) answers.set(pending[k]!, JSON.parse((o as { body: string }).body));
      });
      pending = pending.filter((_, k) => !isOk(outcomes[k]));
    }
    // A post answered before the kill, sent again, is all duplicates.
    for (const i of resentAnswered) expect(answers.get(i)).toEqual({ accepted: 0, duplicates: 10 });
    const acceptedAfter = [...answers.values()].reduce((n, a) => n + a.accepted, 0);
    // Alerts of the cut-off posts that the killed receiver had written count as duplicates now.
    expect(acceptedFirst + acceptedAfter).toBeLessThanOrEqual(2000);

    expect(await second.stop('SIGTERM')).toBe(0);

    const { records } = await intakeLines(path.join(temp.dir, 'state'));
    const counts = new Map<string, number>();
    for (const r of records) {
      const key = `${r.fingerprint}|${r.startsAt}|${r.status}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const doubled = [...counts].filter(([, n]) => n > 1);
    expect(doubled, 'alerts stored more than once').toEqual([]);
    expect(new Set(counts.keys())).toEqual(expectedKeys);
    expect(records).toHaveLength(2000);
  });
});
