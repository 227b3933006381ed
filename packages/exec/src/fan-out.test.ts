import { UnreachableError, WorkFailedError } from '@opsbook/schema';
import { describe, expect, it } from 'vitest';
import { type FanOutEvent, fanOut, LineSplitter, MAX_LINE_LENGTH, startFanOut } from './fan-out.js';

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

  it("on stop aborts every running host's signal and starts no other (a second Ctrl-C)", async () => {
    const signal = new AbortController();
    const stop = new AbortController();
    const seen: string[] = [];
    const fan = startFanOut(
      { hosts: hostNames(4), concurrency: 2, signal: signal.signal, stop: stop.signal },
      ({ host, signal: hostSignal }) =>
        new Promise<string>((_resolve, reject) => {
          seen.push(host);
          hostSignal.addEventListener('abort', () => reject(new Error(`${host} killed`)));
        }),
    );
    await settle();
    signal.abort(); // the first Ctrl-C: running hosts are left to finish
    await settle();
    stop.abort(); // the second: they are stopped
    const result = await fan.done;
    expect(seen).toEqual(['h1', 'h2']);
    expect(result.outcomes.map((o) => [o.host, o.status])).toEqual([
      ['h1', 'cancelled'],
      ['h2', 'cancelled'],
    ]);
    expect(result).toMatchObject({ interrupted: true, notStarted: ['h3', 'h4'], failures: 0 });
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

  it('marks an output line cut at MAX_LINE_LENGTH, the partial one at the end too', async () => {
    const events: FanOutEvent[] = [];
    const long = 'y'.repeat(MAX_LINE_LENGTH + 10);
    await fanOut({ hosts: ['web1'], concurrency: 1, onEvent: (e) => events.push(e) }, async (c) => {
      c.output('stdout', `${long}\nshort\n${long}`);
      c.output('stderr', long.slice(0, MAX_LINE_LENGTH));
    });
    const cut = { line: long.slice(0, MAX_LINE_LENGTH), cut: true };
    expect(events.filter((e) => e.type === 'output')).toEqual([
      { type: 'output', host: 'web1', stream: 'stdout', ...cut },
      { type: 'output', host: 'web1', stream: 'stdout', line: 'short' },
      { type: 'output', host: 'web1', stream: 'stdout', ...cut },
      { type: 'output', host: 'web1', stream: 'stderr', line: long.slice(0, MAX_LINE_LENGTH) },
    ]);
  });
});

describe('LineSplitter', () => {
  const texts = (lines: { line: string }[]) => lines.map((l) => l.line);

  it('keeps a partial line until the rest arrives', () => {
    const s = new LineSplitter();
    expect(texts(s.push('a\nb'))).toEqual(['a']);
    expect(texts(s.push('c\r\n\n'))).toEqual(['bc', '']);
    expect(s.flush()).toBeUndefined();
    s.push('tail');
    expect(s.flush()).toEqual({ line: 'tail', cut: false });
  });

  it('emits a line longer than the cap once, marked cut, and drops the rest up to its newline', () => {
    const s = new LineSplitter(8);
    expect(s.push('12345')).toEqual([]);
    expect(s.push('67890abc')).toEqual([{ line: '12345678', cut: true }]);
    expect(s.push('def')).toEqual([]);
    expect(s.bufferedLength).toBe(0);
    expect(s.push('ghi\nnext\n12345678\n')).toEqual([
      { line: 'next', cut: false },
      { line: '12345678', cut: false },
    ]);
    expect(s.push('123456789')).toEqual([{ line: '12345678', cut: true }]);
    expect(s.flush()).toBeUndefined();
    expect(s.push('after\n')).toEqual([{ line: 'after', cut: false }]);
  });

  it('never cuts a line between the two halves of a surrogate pair', () => {
    const s = new LineSplitter(4);
    expect(s.push('abc😀def\n')).toEqual([{ line: 'abc', cut: true }]);
  });

  it('keeps at most the cap buffered while 50 MB arrive without a newline', () => {
    const s = new LineSplitter();
    const chunk = 'x'.repeat(64 * 1024);
    const emitted: { line: string; cut: boolean }[] = [];
    let peak = 0;
    for (let i = 0; i < 800; i++) {
      emitted.push(...s.push(chunk));
      peak = Math.max(peak, s.bufferedLength);
    }
    emitted.push(...s.push('end\nnext\n'));
    expect(peak).toBeLessThanOrEqual(MAX_LINE_LENGTH);
    expect(emitted.map((l) => [l.line.length, l.cut])).toEqual([
      [MAX_LINE_LENGTH, true],
      [4, false],
    ]);
  });

  it('splits 50 MB on one line with about the work of 50 MB of short lines', () => {
    // Both inputs are 800 chunks of 64 KiB as a pipe delivers them. Compared with each other in
    // the same process (fastest of three rounds), never against a wall-clock limit: re-splitting
    // the whole partial line on every chunk made the one-line case hundreds of times slower.
    const oneLine = 'x'.repeat(64 * 1024);
    const shortLines = `${'x'.repeat(79)}\n`.repeat((64 * 1024) / 80);
    const cost = (chunk: string) => {
      let best = Number.POSITIVE_INFINITY;
      for (let round = 0; round < 3; round++) {
        const s = new LineSplitter();
        const started = process.hrtime.bigint();
        for (let i = 0; i < 800; i++) s.push(chunk);
        s.flush();
        best = Math.min(best, Number(process.hrtime.bigint() - started));
      }
      return best;
    };
    const short = cost(shortLines);
    const long = cost(oneLine);
    expect(long / short).toBeLessThan(5);
  });
});
