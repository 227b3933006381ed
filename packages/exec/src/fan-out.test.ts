import { UnreachableError, WorkFailedError } from '@opsbook/schema';
import { describe, expect, it } from 'vitest';
import { type FanOutEvent, fanOut, LineSplitter, startFanOut } from './fan-out.js';

/** A promise the test settles by hand, so scheduling is observed step by step without timers. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
const settle = () => new Promise((r) => setImmediate(r));
const hostNames = (n: number) => Array.from({ length: n }, (_, i) => `h${i + 1}`);

describe('fanOut', () => {
  it('never runs more hosts at once than the concurrency bound, and runs them all', async () => {
    let active = 0;
    let peak = 0;
    const result = await fanOut({ hosts: hostNames(20), concurrency: 3 }, async ({ host }) => {
      active++;
      peak = Math.max(peak, active);
      await settle();
      active--;
      return host;
    });
    expect(peak).toBe(3);
    expect(result.outcomes.map((o) => o.host).sort()).toEqual(hostNames(20).sort());
    expect(result).toMatchObject({
      interrupted: false,
      stoppedByFailures: false,
      failures: 0,
      notStarted: [],
    });
  });

  it('stops starting hosts once failures exceed maxFailures; running hosts finish', async () => {
    const gates = new Map(hostNames(6).map((h) => [h, deferred<string>()]));
    const fan = startFanOut(
      { hosts: hostNames(6), concurrency: 2, maxFailures: 1 },
      ({ host }) => gates.get(host)?.promise as Promise<string>,
    );
    gates.get('h1')?.reject(new WorkFailedError('STEP_FAILED', 'boom'));
    await settle();
    gates.get('h3')?.resolve('ok'); // h3 started after h1 failed: one failure is allowed
    await settle();
    gates.get('h2')?.reject(new UnreachableError('SSH_CONNECTION_REFUSED', 'down'));
    await settle();
    gates.get('h4')?.resolve('finishes although the limit was passed');
    const result = await fan.done;
    expect(result.stoppedByFailures).toBe(true);
    expect(result.failures).toBe(2);
    expect(result.outcomes.map((o) => [o.host, o.status])).toEqual([
      ['h1', 'failed'],
      ['h3', 'ok'],
      ['h2', 'unreachable'],
      ['h4', 'ok'],
    ]);
    expect(result.notStarted).toEqual(['h5', 'h6']);
  });

  it('on abort starts no new host, lets running hosts finish, and reports interrupted', async () => {
    const controller = new AbortController();
    const gates = new Map(hostNames(5).map((h) => [h, deferred()]));
    const started: string[] = [];
    const fan = startFanOut(
      { hosts: hostNames(5), concurrency: 2, signal: controller.signal },
      async ({ host, signal }) => {
        started.push(host);
        await gates.get(host)?.promise;
        return signal.aborted;
      },
    );
    await settle();
    controller.abort();
    for (const gate of gates.values()) gate.resolve();
    const result = await fan.done;
    expect(started).toEqual(['h1', 'h2']);
    expect(result.interrupted).toBe(true);
    expect(result.outcomes.map((o) => [o.host, o.status, o.value])).toEqual([
      ['h1', 'ok', false],
      ['h2', 'ok', false],
    ]);
    expect(result.notStarted).toEqual(['h3', 'h4', 'h5']);
  });

  it('cancels one host through its own signal without touching the others', async () => {
    const fan = startFanOut(
      { hosts: ['a', 'b'], concurrency: 2 },
      ({ signal }) =>
        new Promise<string>((resolve, reject) => {
          if (signal.aborted) reject(signal.reason);
          signal.addEventListener('abort', () => reject(signal.reason));
          setImmediate(() => resolve('done'));
        }),
    );
    fan.cancelHost('a');
    const result = await fan.done;
    expect(result.outcomes.map((o) => [o.host, o.status])).toEqual([
      ['a', 'cancelled'],
      ['b', 'ok'],
    ]);
    expect(result.failures).toBe(0);
  });

  it('emits host-start, output lines prefixed by host, and host-end events', async () => {
    const events: FanOutEvent[] = [];
    await fanOut(
      {
        hosts: ['web1'],
        concurrency: 1,
        onEvent: (e) => events.push(e),
        isFailure: (v: number) => v !== 0,
      },
      async ({ output }) => {
        output('stdout', 'one\ntw');
        output('stdout', 'o\r\nthree');
        output('stderr', 'warn\n');
        return 1;
      },
    );
    expect(events).toEqual([
      { type: 'host-start', host: 'web1' },
      { type: 'output', host: 'web1', stream: 'stdout', line: 'one' },
      { type: 'output', host: 'web1', stream: 'stdout', line: 'two' },
      { type: 'output', host: 'web1', stream: 'stderr', line: 'warn' },
      { type: 'output', host: 'web1', stream: 'stdout', line: 'three' },
      { type: 'host-end', host: 'web1', status: 'failed' },
    ]);
  });
});

describe('LineSplitter', () => {
  it('keeps a partial line until the rest arrives', () => {
    const s = new LineSplitter();
    expect(s.push('a\nb')).toEqual(['a']);
    expect(s.push('c\n\n')).toEqual(['bc', '']);
    expect(s.flush()).toBeUndefined();
  });
});
